// The injectable clock and its test hook.
import { describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clockFromEnv, parseFakeNow, systemClock } from '../../agent/clock.ts';
import { tempDir } from '../helpers/processes.ts';

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
