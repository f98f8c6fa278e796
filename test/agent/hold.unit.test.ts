// The adaptive long-poll hold (agent/sync/hold.ts) as a table: for each state
// and what happened to a long-poll, the next state; then the ladder, the
// restart from what was learned, the outcome classification, and whole
// sequences (a proxy that cuts at 100 s, a NAT that drops silently, a
// service restart in the middle of a hold).
import { describe, expect, it } from 'vitest';
import {
  adaptive, CEILING_TTL_MS, holdEventOf, initialHold, ladder, learnedOf, MIN_HELD_MS, nextHold, STABLE_MS,
  type HoldConfig, type HoldEvent, type HoldState,
} from '../../agent/sync/hold.ts';

const cfg: HoldConfig = { min: 55, max: 300 };
const T = 1_000_000;
const st = (over: Partial<HoldState> = {}): HoldState => ({ ...initialHold(cfg, null), ...over });
const held = (seconds: number, atMs = T): HoldEvent => ({ type: 'held', seconds, atMs });
const cut = (seconds: number, elapsedS: number, atMs = T): HoldEvent => ({ type: 'cut', seconds, elapsedMs: elapsedS * 1000, atMs });
/** Holds of the current length have ended normally since this: the next normal end grows it. */
const proven = T - STABLE_MS;

describe('the ladder', () => {
  it('grows by half a step at a time up to the maximum', () => {
    expect(ladder(cfg)).toEqual([55, 85, 130, 195, 300]);
    expect(ladder({ min: 2, max: 10 })).toEqual([2, 5, 10]);
    expect(ladder({ min: 100, max: 120 })).toEqual([100, 120]);
  });
  it('is one fixed hold when adaptivity is off (max at or below min, or no long-poll)', () => {
    expect(adaptive({ min: 55, max: 55 })).toBe(false);
    expect(adaptive({ min: 55, max: 30 })).toBe(false);
    expect(adaptive({ min: 0, max: 300 })).toBe(false);
    expect(ladder({ min: 55, max: 55 })).toEqual([55]);
    const fixed = { min: 55, max: 55 };
    const s = initialHold(fixed, null);
    expect(nextHold(s, held(55), fixed)).toBe(s);
    expect(nextHold(s, cut(55, 30), fixed)).toBe(s);
    expect(nextHold(initialHold({ min: 0, max: 300 }, null), held(0), { min: 0, max: 300 }).current).toBe(0);
  });
});

type Row = [name: string, state: HoldState, event: HoldEvent, expected: Partial<HoldState>];
const rows: Row[] = [
  ['the first hold that ended normally starts the run of normal holds', st(), held(55),
    { current: 55, good: 55, cuts: 0, stableSince: T - 55_000 }],
  ['... which grows the hold one step once it has lasted STABLE_MS', st({ stableSince: proven }), held(55),
    { current: 85, good: 55, stableSince: null }],
  ['... not a moment before', st({ stableSince: proven + 1 }), held(55), { current: 55, stableSince: proven + 1 }],
  ['the longer hold proves itself before the next step', st({ current: 85 }), held(85), { current: 85, good: 85, stableSince: T - 85_000 }],
  ['at the maximum it stays there', st({ current: 300, good: 300, stableSince: proven }), held(300), { current: 300, good: 300 }],
  ['it does not grow to the ceiling', st({ current: 130, good: 85, ceiling: 195, ceilingAt: T, stableSince: proven }), held(130, T + 1000),
    { current: 130, good: 130, ceiling: 195 }],
  ['the ceiling is forgotten after a day and growth resumes', st({ current: 130, good: 130, ceiling: 195, ceilingAt: T, stableSince: T }),
    held(130, T + CEILING_TTL_MS), { current: 195, ceiling: null, ceilingAt: null }],
  ['a normal end clears a pending unexplained cut', st({ cuts: 1 }), held(55), { cuts: 0 }],
  ['an answer (a change) learns nothing but clears the cut count', st({ current: 130, good: 85, cuts: 1, stableSince: proven }), { type: 'answered' },
    { current: 130, good: 85, cuts: 0, stableSince: proven }],

  ['a cut after the longest hold that worked goes back to it and sets the ceiling', st({ current: 130, good: 85 }), cut(130, 100),
    { current: 85, good: 85, ceiling: 130, ceilingAt: T, cuts: 0, stableSince: null }],
  ['a silent drop (own deadline after the hold) does the same', st({ current: 130, good: 85 }), cut(130, 145),
    { current: 85, good: 85, ceiling: 130 }],
  ['a silent drop at the hold that worked steps it down', st({ current: 300, good: 300 }), cut(300, 315),
    { current: 195, good: 195, ceiling: 300 }],
  ['a reset in the last seconds of the hold that worked, once: as likely a service restart, nothing learned yet',
    st({ current: 300, good: 300, stableSince: proven }), cut(300, 299),
    { current: 300, good: 300, ceiling: null, cuts: 1, stableSince: null }],
  ['... twice in a row: the network cuts it there, so it steps down', st({ current: 300, good: 300, cuts: 1 }), cut(300, 299.5),
    { current: 195, good: 195, ceiling: 300, ceilingAt: T, cuts: 0 }],
  ['a cut shorter than the hold that worked, once: nothing learned yet, but the run of normal holds starts again',
    st({ current: 195, good: 195, stableSince: proven }), cut(195, 40),
    { current: 195, good: 195, ceiling: null, cuts: 1, stableSince: null }],
  ['... twice in a row: below where it was cut', st({ current: 195, good: 195, cuts: 1 }), cut(195, 100),
    { current: 85, good: 85, ceiling: 195, cuts: 0 }],
  ['never below waitSeconds', st({ current: 85, good: 85, cuts: 1 }), cut(85, 20),
    { current: 55, good: 55, ceiling: 85 }],
  ['the shortest hold cut: no growth for a day', st(), cut(55, 70),
    { current: 55, good: 55, ceiling: 56 }],
  ['a failure without a held connection (refused, no server) says nothing', st({ current: 130, good: 85, stableSince: proven }), cut(130, MIN_HELD_MS / 1000 - 0.5),
    { current: 130, good: 85, cuts: 0, ceiling: null, stableSince: proven }],
  ['a lower ceiling replaces a higher one', st({ current: 85, good: 85, ceiling: 195, ceilingAt: T - 5 }), cut(85, 100),
    { current: 55, good: 55, ceiling: 85, ceilingAt: T }],

  ['the service refusing the hold sets the ceiling at once', st({ current: 130, good: 85 }), { type: 'refused', seconds: 130, atMs: T },
    { current: 85, good: 85, ceiling: 130 }],
  ['... and refusing waitSeconds itself changes nothing (a configuration problem)', st(), { type: 'refused', seconds: 55, atMs: T },
    { current: 55, good: 55, ceiling: null }],
];

describe('nextHold', () => {
  for (const [name, state, event, expected] of rows) {
    it(name, () => {
      expect(nextHold(state, event, cfg)).toMatchObject(expected);
    });
  }
});

describe('restarting from what was learned', () => {
  it('starts at the hold that worked, keeping the ceiling', () => {
    expect(initialHold(cfg, { good: 195, ceiling: 300, ceilingAt: T })).toEqual({ current: 195, good: 195, ceiling: 300, ceilingAt: T, cuts: 0, stableSince: null });
  });
  it('clamps to the configuration (a value from another ladder, a lower maximum)', () => {
    expect(initialHold(cfg, { good: 200, ceiling: null, ceilingAt: null }).current).toBe(195);
    expect(initialHold({ min: 55, max: 120 }, { good: 300, ceiling: null, ceilingAt: null }).current).toBe(120);
    expect(initialHold(cfg, { good: 10, ceiling: null, ceilingAt: null }).current).toBe(55);
  });
  it('drops a ceiling at or below the hold that worked', () => {
    expect(initialHold(cfg, { good: 130, ceiling: 130, ceilingAt: T }).ceiling).toBeNull();
  });
  it('keeps only what matters', () => {
    expect(learnedOf(st({ current: 130, good: 85, ceiling: 195, ceilingAt: T, cuts: 1 }))).toEqual({ good: 85, ceiling: 195, ceilingAt: T });
  });
});

describe('what an outcome says about the hold', () => {
  const net = (status: number | null, kind = 'network', code = 'UNREACHABLE') =>
    ({ ok: false as const, error: Object.assign(new Error('x'), { kind, status, code }), revoked: false, rejected: false });
  it('a 304 at the end of the hold: held; earlier or a change: answered', () => {
    expect(holdEventOf({ ok: true, status: 304, changed: false }, 55, 55_010, T)).toEqual({ type: 'held', seconds: 55, atMs: T });
    expect(holdEventOf({ ok: true, status: 304, changed: false }, 55, 53_500, T)).toEqual({ type: 'held', seconds: 55, atMs: T });
    expect(holdEventOf({ ok: true, status: 304, changed: false }, 55, 20_000, T)).toEqual({ type: 'answered' });
    expect(holdEventOf({ ok: true, status: 200, changed: true }, 55, 20_000, T)).toEqual({ type: 'answered' });
  });
  it('transport failures and gateway timeouts are cuts', () => {
    expect(holdEventOf(net(null), 130, 100_000, T)).toEqual({ type: 'cut', seconds: 130, elapsedMs: 100_000, atMs: T });
    expect(holdEventOf(net(200, 'network', 'INCOMPLETE_RESPONSE'), 130, 100_000, T)?.type).toBe('cut');
    expect(holdEventOf(net(504, 'http', 'HTTP_504'), 130, 100_000, T)?.type).toBe('cut');
    expect(holdEventOf(net(502, 'http', 'HTTP_502'), 130, 100_000, T)?.type).toBe('cut');
  });
  it('the service refusing ?wait= is a refusal; other answers say nothing', () => {
    expect(holdEventOf(net(400, 'http', 'VALIDATION_FAILED'), 130, 10, T)).toEqual({ type: 'refused', seconds: 130, atMs: T });
    expect(holdEventOf(net(503, 'http', 'UNAVAILABLE'), 130, 10, T)).toBeNull();
    expect(holdEventOf(net(500, 'http', 'INTERNAL'), 130, 100_000, T)).toBeNull();
    expect(holdEventOf({ ...net(401, 'http', 'X'), revoked: true }, 130, 10, T)).toBeNull();
    expect(holdEventOf({ ok: false, error: new Error('bug'), revoked: false, rejected: false }, 130, 100_000, T)).toBeNull();
  });
  it('a request that did not long-poll says nothing', () => {
    expect(holdEventOf({ ok: true, status: 304, changed: false }, 0, 10, T)).toBeNull();
    expect(holdEventOf(net(null), 0, 100_000, T)).toBeNull();
  });
});

describe('whole sequences', () => {
  // Feeds the machine what a network does to each hold, the clock moving on by each hold's length.
  function run(network: (hold: number, atMs: number) => HoldEvent, rounds: number, start = st()): number[] {
    let s = start;
    let at = T;
    const asked: number[] = [];
    for (let i = 0; i < rounds; i++) {
      asked.push(s.current);
      at += s.current * 1000;
      s = nextHold(s, network(s.current, at), cfg);
    }
    return asked;
  }
  /** Runs of the same hold, as [hold, times]. */
  const runs = (xs: number[]) => xs.reduce<[number, number][]>((acc, x) => {
    const last = acc.at(-1);
    if (last && last[0] === x) last[1]++;
    else acc.push([x, 1]);
    return acc;
  }, []);
  it('no middlebox: each hold is kept ten minutes, then the next; the maximum in about 45 minutes', () => {
    const asked = run((h, at) => held(h, at), 60);
    expect(runs(asked)).toEqual([[55, 11], [85, 8], [130, 5], [195, 4], [300, 32]]);
    const until300 = asked.slice(0, asked.indexOf(300)).reduce((a, b) => a + b, 0);
    expect(until300 / 60).toBeGreaterThan(40);
    expect(until300 / 60).toBeLessThan(50);
  });
  it('a proxy that cuts at 100 s: grows, is cut once, settles on 85 s', () => {
    const asked = run((h, at) => (h < 100 ? held(h, at) : cut(h, 100, at)), 40);
    expect(runs(asked)).toEqual([[55, 11], [85, 8], [130, 1], [85, 20]]);
  });
  it('a NAT that drops silently at 150 s after the network changed: steps down from 300 to 130', () => {
    const learned = st({ current: 300, good: 300 });
    expect(run((h, at) => (h < 150 ? held(h, at) : cut(h, h + 15, at)), 6, learned)).toEqual([300, 195, 130, 130, 130, 130]);
  });
  it('one service restart in the middle of a hold does not lower it', () => {
    let s = st({ current: 300, good: 300 });
    s = nextHold(s, cut(300, 40), cfg);
    s = nextHold(s, held(300), cfg);
    expect(s).toMatchObject({ current: 300, good: 300, ceiling: null, cuts: 0 });
  });
  it('an agent whose holds keep being cut early never grows', () => {
    const asked = run((h, at) => cut(h, 30, at), 50);
    expect(new Set(asked)).toEqual(new Set([55]));
  });
  it('a day after a cut it tries the longer hold again', () => {
    let s = nextHold(st({ current: 130, good: 85 }), cut(130, 100, T), cfg);
    s = nextHold(s, held(85, T + 3600_000), cfg);
    s = nextHold(s, held(85, T + 3600_000 + STABLE_MS), cfg);
    expect(s.current).toBe(85);
    s = nextHold(s, held(85, T + CEILING_TTL_MS + 1), cfg);
    expect(s.current).toBe(130);
  });
});

describe('waitGrowAfterSeconds', () => {
  it('sets how long a hold must work before the next', () => {
    const quick = { ...cfg, stableMs: 60_000 };
    const s = nextHold(st({ stableSince: T - 60_000 }), held(55), quick);
    expect(s.current).toBe(85);
    expect(nextHold(st({ stableSince: T - 59_999 }), held(55), quick).current).toBe(55);
  });
});
