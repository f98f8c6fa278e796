// `logs` filtering: known types only, no-op syncs hidden unless --all, and the
// list of known types kept in step with what the agent actually writes.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, isNoOpSync, logFilter, shows } from '../../agent/cli/log-filter.ts';
import { UsageError } from '../../shared/cli.ts';
import { ROOT } from '../helpers/processes.ts';

const ev = (type: string, reason: string | null = null) => ({ type, reason });

describe('logs filter', () => {
  it('hides only syncs that changed nothing, unless --all', () => {
    const f = logFilter(undefined, false);
    expect(shows(f, ev('sync', 'UNCHANGED'))).toBe(false);
    for (const r of ['UPDATED', 'NOT_NEWER', 'NETWORK', null]) expect(shows(f, ev('sync', r))).toBe(true);
    for (const t of EVENT_TYPES) if (t !== 'sync') expect(shows(f, ev(t, 'UNCHANGED'))).toBe(true);
    expect(shows(logFilter(undefined, true), ev('sync', 'UNCHANGED'))).toBe(true);
    expect(shows(logFilter('sync', false), ev('sync', 'UNCHANGED'))).toBe(false);
    expect(shows(logFilter('sync', true), ev('sync', 'UNCHANGED'))).toBe(true);
    expect(shows(logFilter('sync', true), ev('mode-change'))).toBe(false);
    expect(isNoOpSync(ev('sync', 'UNCHANGED'))).toBe(true);
  });

  it('refuses an unknown --type, naming the known ones', () => {
    expect(() => logFilter('bogus', false)).toThrow(UsageError);
    expect(() => logFilter('bogus', false)).toThrow(/known: .*mode-change.*sync/);
    for (const t of EVENT_TYPES) expect(logFilter(t, false).type).toBe(t);
  });

  it('knows every event type the agent writes', () => {
    const written = new Set<string>();
    const walk = (dir: string) => {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, d.name);
        if (d.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/addEvent\([^,]+,\s*'([a-z-]+)'/g)) written.add(m[1]);
      }
    };
    walk(join(ROOT, 'agent'));
    expect(written.size).toBeGreaterThan(10);
    expect([...written].sort()).toEqual([...EVENT_TYPES].sort());
  });
});
