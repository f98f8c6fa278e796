// The reason and event catalogue (shared/reasons.ts, shared/events.ts) is the
// one source: the docs table must list exactly its codes, the schemas accept
// exactly its service codes, and the console module is generated from it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_REASON_CODES, REASONS, SERVICE_REASON_CODES, UNKNOWN_REASON } from '../../shared/reasons.ts';
import { AGENT_EVENT_TYPES } from '../../shared/events.ts';
import { EntitlementReason } from '../../shared/schemas/common.ts';
import { isValid } from '../../shared/validate.ts';
import { consoleReasonsModule } from '../../service/http/console-reasons.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'reasons.md'), 'utf8');

/** The table rows (cells, backticks stripped) of the markdown section titled `title`. */
function tableRows(title: string): string[][] {
  const start = DOC.indexOf(`\n## ${title}\n`);
  expect(start, `section '${title}' in docs/reasons.md`).toBeGreaterThan(-1);
  const end = DOC.indexOf('\n## ', start + 1);
  const section = DOC.slice(start, end === -1 ? undefined : end);
  return section.split('\n').filter((l) => l.startsWith('| `'))
    .map((l) => l.slice(1, -1).split('|').map((c) => c.trim().replace(/^`|`$/g, '')));
}

describe('docs/reasons.md', () => {
  it('lists every reason code of the catalogue, and no other, with its source and mode', () => {
    const rows = tableRows('Reasons');
    const documented = rows.map(([code, from, mode]) => ({ code, from, mode }));
    expect(documented.map((r) => r.code).sort()).toEqual(REASONS.map((r) => r.code).sort());
    for (const r of REASONS) {
      expect(documented.find((d) => d.code === r.code), r.code).toEqual({ code: r.code, from: r.source, mode: r.mode });
    }
  });

  it('lists every agent event type, and no other', () => {
    expect(tableRows('Agent events').map(([type]) => type).sort()).toEqual([...AGENT_EVENT_TYPES].sort());
  });
});

describe('the catalogue', () => {
  it('has unique codes in the wire shape, each with a label and help', () => {
    const codes = REASONS.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const r of REASONS) {
      expect(r.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(r.label.length).toBeGreaterThan(0);
      expect(r.help.length).toBeGreaterThan(0);
    }
    expect(SERVICE_REASON_CODES.length + AGENT_REASON_CODES.length).toBe(REASONS.length);
  });

  it('feeds the service schema: EntitlementReason takes exactly the service codes', () => {
    for (const c of SERVICE_REASON_CODES) expect(isValid(EntitlementReason, c), c).toBe(true);
    for (const c of [...AGENT_REASON_CODES, 'SOMETHING_NEW', 'assigned']) expect(isValid(EntitlementReason, c), c).toBe(false);
  });

  it('feeds the console: the generated module holds every code with its label, and the generic label', async () => {
    const mod = await import(`data:text/javascript;base64,${Buffer.from(consoleReasonsModule()).toString('base64')}`);
    expect(Object.keys(mod.REASON_CATALOGUE).sort()).toEqual(REASONS.map((r) => r.code).sort());
    for (const r of REASONS) expect(mod.REASON_CATALOGUE[r.code]).toEqual({ mode: r.mode, label: r.label, help: r.help });
    expect(mod.UNKNOWN_REASON).toEqual(UNKNOWN_REASON);
    expect(Object.isFrozen(mod.REASON_CATALOGUE)).toBe(true);
  });
});
