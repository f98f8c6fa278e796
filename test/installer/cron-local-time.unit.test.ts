// Issue 18 (agent memory): the build gives node-cron local-time stand-ins
// for its Intl formatters when a task has no time zone
// (installer/build/cron-local-time.ts). They must give node-cron exactly the
// parts Intl would, in any local time zone (including half-hour offsets and
// daylight-saving changes), and the build must fail if node-cron changes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CronPatchError, isNodeCronShared, LOCAL_TIME_JS, patchNodeCron } from '../../installer/build/cron-local-time.ts';

const ROOT = join(import.meta.dirname, '..', '..');
type Formatter = { formatToParts(d: Date): Array<{ type: string; value: string }> };
const { parts, offset } = new Function(`${LOCAL_TIME_JS}; return { parts: __devlicLocalParts, offset: __devlicLocalOffset };`)() as { parts: Formatter; offset: Formatter };

// The formatters node-cron makes for a task without a time zone.
const intlParts = () => new Intl.DateTimeFormat('en-US', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', hour12: false });
const intlOffset = () => new Intl.DateTimeFormat('en-US', { timeZone: undefined, timeZoneName: 'shortOffset' });

// node-cron reads parts by type, and maps an hour of "24" to 0.
function byType(list: Array<{ type: string; value: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) if (p.type !== 'literal') out[p.type] = p.type === 'hour' && p.value === '24' ? '00' : p.value;
  return out;
}

// Intl writes a zero offset as "GMT" or (TZ=UTC) "GMT+0"; node-cron reads both as "Z".
const zeroAsGmt = (p: { type: string; value: string }) => ({ ...p, value: p.value.replace(/^GMT[+-]0$/, 'GMT') });

const savedTz = process.env.TZ;
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('node-cron local time without Intl (issue 18)', () => {
  for (const tz of ['UTC', 'Europe/Berlin', 'America/St_Johns', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Los_Angeles']) {
    it(`gives the parts and offset Intl gives, in ${tz}`, () => {
      process.env.TZ = tz;
      const p = intlParts(), o = intlOffset();
      const start = Date.UTC(2026, 0, 1);
      // Every 7h13m over a year and a bit: every hour of the day, both sides of each DST change.
      for (let t = start; t < start + 400 * 86_400_000; t += 7 * 3_600_000 + 13 * 60_000 + 7_000) {
        const d = new Date(t);
        expect(byType(parts.formatToParts(d))).toEqual(byType(p.formatToParts(d)));
        expect(offset.formatToParts(d)).toEqual(o.formatToParts(d).filter((x) => x.type === 'timeZoneName').map(zeroAsGmt));
      }
    });
  }

  it('patches both node-cron builds (ESM and CommonJS) and only where a task has no time zone', () => {
    for (const file of ['_shared.js', '_shared.cjs']) {
      const path = join(ROOT, 'node_modules/node-cron/dist', file);
      expect(isNodeCronShared(path)).toBe(true);
      const out = patchNodeCron(readFileSync(path, 'utf8'));
      expect(out).toContain('if (!timezone) return __devlicLocalParts;');
      expect(out).toContain('if (!timezone) return __devlicLocalOffset;');
      // A task with a time zone still reaches node-cron's own formatter.
      expect(out.split("new Intl.DateTimeFormat('en-US'").length).toBe(3);
    }
    expect(isNodeCronShared(join(ROOT, 'node_modules/node-cron/dist/node-cron.js'))).toBe(false);
  });

  it('fails the build when node-cron no longer has the formatters it replaces', () => {
    expect(() => patchNodeCron('export const x = 1;')).toThrow(CronPatchError);
  });
});
