// The injectable clock and its test hook, and when the observed-time mark is written.
import { describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clockFromEnv, parseFakeNow, systemClock } from '../../agent/decision/clock.ts';
import { tempDir } from '../helpers/processes.ts';
import { markToRecord, RECORD_STEP_MS, type ObservedMark } from '../../agent/decision/observed-time.ts';
import { CLOCK_TOLERANCE_MS } from '../../agent/decision/decide.ts';

describe('fake now', () => {
  it('parses offsets and ISO instants', () => {
    expect(parseFakeNow('+90d')(0)).toBe(90 * 86_400_000);
    expect(parseFakeNow('-3600s')(10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(parseFakeNow('+1.5h')(0)).toBe(5_400_000);
    expect(parseFakeNow('2030-01-01T00:00:00Z')(123)).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(parseFakeNow('')(42)).toBe(42);
    expect(() => parseFakeNow('tomorrow')).toThrow(/neither an ISO time nor an offset/);
  });

  it('is only taken from the environment and re-read on each call', () => {
    expect(clockFromEnv({})).toBe(systemClock);
    const file = join(tempDir('clock'), 'now');
    writeFileSync(file, '+10d');
    const c = clockFromEnv({ DEVLIC_FAKE_NOW_FILE: file });
    expect(c.fake).toBe(true);
    expect(c.now() - Date.now()).toBeGreaterThan(10 * 86_400_000 - 5000);
    writeFileSync(file, '2031-05-05T00:00:00Z');
    expect(c.now()).toBe(Date.parse('2031-05-05T00:00:00Z'));
  });

  it('refuses a file other users could write', () => {
    const file = join(tempDir('clock'), 'now');
    writeFileSync(file, '+1d');
    chmodSync(file, 0o646);
    expect(() => clockFromEnv({ DEVLIC_FAKE_NOW_FILE: file })).toThrow(/writable by other users/);
  });
});

describe('observed-time mark: when it is written', () => {
  const T = Date.parse('2030-01-01T00:00:00Z');
  const m = (localMs: number, reason: string | null = 'ASSIGNED'): ObservedMark => ({ localMs, reason });

  it('is recorded by the first decision', () => {
    expect(markToRecord(null, T, 'ASSIGNED')).toEqual(m(T));
    expect(markToRecord(null, T, 'NO_ENTITLEMENT')).toEqual(m(T, 'NO_ENTITLEMENT'));
  });

  it('is never lowered by a decision, whatever the reason', () => {
    for (const reason of ['ASSIGNED', 'TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID', 'CLOCK_UNTRUSTED']) {
      expect(markToRecord(m(T), T, reason)).toBeNull();
      expect(markToRecord(m(T), T - 1, reason)).toBeNull();
      expect(markToRecord(m(T), T - 365 * 86_400_000, reason)).toBeNull();
    }
  });

  it('is raised once per RECORD_STEP_MS of clock progress, not on every decision', () => {
    expect(RECORD_STEP_MS).toBeLessThan(CLOCK_TOLERANCE_MS);
    expect(markToRecord(m(T), T + 1, 'ASSIGNED')).toBeNull();
    expect(markToRecord(m(T), T + RECORD_STEP_MS - 1, 'ASSIGNED')).toBeNull();
    expect(markToRecord(m(T), T + RECORD_STEP_MS, 'ASSIGNED')).toEqual(m(T + RECORD_STEP_MS));
    expect(markToRecord(m(T), T + 91 * 86_400_000, 'ASSIGNED')).toEqual(m(T + 91 * 86_400_000));
    // Right after a sync (reason null) a routine decision does not write again.
    expect(markToRecord(m(T, null), T + 1000, 'ASSIGNED')).toBeNull();
  });

  it('is written at once when a decision turns on time (expired, not yet valid)', () => {
    expect(markToRecord(m(T), T + 1, 'TOKEN_EXPIRED')).toEqual(m(T + 1, 'TOKEN_EXPIRED'));
    expect(markToRecord(m(T, null), T + 1, 'TOKEN_EXPIRED')).toEqual(m(T + 1, 'TOKEN_EXPIRED'));
    expect(markToRecord(m(T), T + 1, 'TOKEN_NOT_YET_VALID')).toEqual(m(T + 1, 'TOKEN_NOT_YET_VALID'));
    // Already recorded as expired: back to the step.
    expect(markToRecord(m(T, 'TOKEN_EXPIRED'), T + 1, 'TOKEN_EXPIRED')).toBeNull();
    expect(markToRecord(m(T, 'TOKEN_EXPIRED'), T + RECORD_STEP_MS, 'TOKEN_EXPIRED')).toEqual(m(T + RECORD_STEP_MS, 'TOKEN_EXPIRED'));
    // Other reason changes are not urgent.
    expect(markToRecord(m(T), T + 1, 'NOT_IN_LICENSED_GROUP')).toBeNull();
  });

  it('ignores a clock reading that is not a number', () => {
    expect(markToRecord(null, Number.NaN, 'ASSIGNED')).toBeNull();
    expect(markToRecord(m(T), Number.POSITIVE_INFINITY, 'ASSIGNED')).toBeNull();
  });

  it('costs about one write a minute: a day of decisions every second', () => {
    let mark: ObservedMark | null = m(T, null);
    let writes = 0;
    for (let i = 1; i <= 86_400; i++) {
      const next = markToRecord(mark, T + i * 1000, i >= 50_000 ? 'TOKEN_EXPIRED' : 'ASSIGNED');
      if (next) { writes++; mark = next; }
    }
    // 1440 minutes, plus the expiry written at once.
    expect(writes).toBeGreaterThanOrEqual(1440);
    expect(writes).toBeLessThanOrEqual(1442);
    expect(mark!.localMs).toBeGreaterThan(T + 86_400_000 - RECORD_STEP_MS);
  });

  it('lags the clock by less than RECORD_STEP_MS, so a restart loses less than the tolerance', () => {
    let mark: ObservedMark | null = null;
    for (let t = T; t < T + 3_600_000; t += 7_000) {
      mark = markToRecord(mark, t, 'ASSIGNED') ?? mark;
      expect(t - mark!.localMs).toBeLessThan(RECORD_STEP_MS);
    }
  });
});
