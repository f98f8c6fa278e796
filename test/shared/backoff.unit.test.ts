// The one backoff helper (shared/backoff.ts): full jitter between 0 and an
// exponentially growing cap, Retry-After as a lower bound, and the
// Retry-After header parser.
import { describe, expect, it } from 'vitest';
import { Backoff, MAX_DELAY_MS, parseRetryAfter } from '../../shared/backoff.ts';

const fixed = (r: number) => () => r;

describe('Backoff', () => {
  it('with random() = 0 always waits 0 (the bottom of full jitter)', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000, random: fixed(0) });
    for (let i = 0; i < 12; i++) expect(b.next()).toBe(0);
  });

  it('with random() near 1 waits just under the cap, which doubles from baseMs up to maxMs', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000, random: fixed(0.999) });
    const caps = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000];
    for (const cap of caps) {
      const d = b.next();
      expect(d).toBe(Math.floor(0.999 * cap));
      expect(d).toBeLessThan(cap);
      expect(d).toBeGreaterThanOrEqual(0.99 * cap);
    }
  });

  it('stays within [0, cap) for any random value, and never exceeds maxMs however many failures', () => {
    let seed = 99;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const b = new Backoff({ baseMs: 250, maxMs: 30_000, random: rnd });
    for (let i = 0; i < 200; i++) {
      const cap = Math.min(30_000, 250 * 2 ** i);
      const d = b.next();
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(cap);
    }
    expect(b.failures).toBe(200);
  });

  it('uses Math.random by default and still respects the cap', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 800 });
    for (let i = 0; i < 50; i++) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(800);
    }
  });

  it('honours Retry-After as a lower bound and otherwise keeps the jittered delay', () => {
    const low = new Backoff({ baseMs: 1000, maxMs: 60_000, random: fixed(0) });
    expect(low.next(5000)).toBe(5000);
    expect(low.next(0)).toBe(0);
    // Retry-After above maxMs is honoured too: the server knows when it will be back.
    expect(low.next(120_000)).toBe(120_000);
    const high = new Backoff({ baseMs: 1000, maxMs: 60_000, random: fixed(0.5) });
    high.next(); high.next(); high.next(); // cap now 8000
    expect(high.next(1000)).toBe(4000);
    expect(high.next(20_000)).toBe(20_000);
  });

  it('never returns a delay setTimeout cannot hold (a longer one would fire at once)', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000, random: fixed(0.5) });
    expect(b.next(10 ** 12)).toBe(MAX_DELAY_MS);
    const huge = new Backoff({ baseMs: 2 ** 40, maxMs: 2 ** 50, random: fixed(0.999) });
    expect(huge.next()).toBeLessThanOrEqual(MAX_DELAY_MS);
  });

  it('counts failures and starts again from baseMs after reset()', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000, random: fixed(0.999) });
    expect(b.failures).toBe(0);
    for (let i = 0; i < 5; i++) b.next();
    expect(b.failures).toBe(5);
    expect(b.next()).toBe(Math.floor(0.999 * 32_000));
    b.reset();
    expect(b.failures).toBe(0);
    expect(b.next()).toBe(Math.floor(0.999 * 1000));
    expect(b.next()).toBe(Math.floor(0.999 * 2000));
  });
});

describe('parseRetryAfter', () => {
  const NOW = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(' 5 ', NOW)).toBe(5000);
    expect(parseRetryAfter(['7', '9'], NOW)).toBe(7000);
  });

  it('reads an HTTP date as the time left until then, in all three HTTP-date forms', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', NOW)).toBe(60_000);
    // asctime has no zone: it is GMT, whatever the local time zone.
    expect(parseRetryAfter('Wed Oct 21 07:28:10 2015', NOW)).toBe(10_000);
  });

  it('treats an HTTP date in the past as "now"', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', NOW)).toBe(0);
  });

  it('ignores a missing or empty header', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('   ', NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
  });

  it('ignores junk, including strings Date.parse would take as some date', () => {
    for (const junk of ['soon', 'tomorrow', '1.5', '-5', '+5', '5 seconds', '1e3', '0x10', 'abc 1', 'Mon junk 5', 'Wed, 99 Oct 2015 07:28:00 GMT']) {
      expect(parseRetryAfter(junk, NOW), junk).toBeUndefined();
    }
  });
});
