// The adaptive long-poll hold as one PURE function (issue 18, part 5): how
// long the device's next long-poll asks the service to hold it. Each held
// request that ends normally (the service's 304 at the end of the hold) is a
// wake-up of the agent and a request/answer cycle; holding longer means fewer
// of them an hour at no cost to propagation (the service answers at once on a
// change). What limits the hold is the network: a proxy or NAT gateway that
// cuts idle connections. So the agent starts at `waitSeconds`, lengthens the
// hold one step once holds of the current length have ended normally for
// STABLE_MS in a row (a hold proven over a while, not by one lucky request;
// and an agent whose requests keep failing never grows), up to
// `maxWaitSeconds`, and when a held request is cut it goes back to the
// longest hold that worked and does not try the cut length again for a day
// (the ceiling). From 55 s to 300 s that takes about 45 minutes, once per
// server: what was learned is kept across restarts.
//
// Telling a cut by the network from an outage: a cut that comes after the
// longest hold that worked (or, for a silent drop, only at the agent's own
// deadline after the hold) is put down to the hold's length at once; one that
// comes earlier (a service restart in the middle of a hold) only when it
// happens twice in a row. So does a reset or gateway answer at the very end
// of the hold that has been working: one is as likely a restart in those
// seconds as a network that changed, and a wrong guess would cost the device
// its longer hold for a day; a second one in a row settles it. A cut after less than MIN_HELD_MS (refused
// connection, a proxy with no server) says nothing about the hold at all.
// The hold that keeps getting cut steps DOWN below the length at which it was
// cut, never below `waitSeconds` (the fixed hold the agent always had).
//
// No timers, no I/O: poll.ts feeds it what happened and persists `learned`
// (store/hold-file.ts); test/agent/hold.unit.test.ts checks it as a table.

/** Growth factor of one step (55, 85, 130, 195, 300 with the defaults). */
const FACTOR = 1.5;
/** A hold that ended this much before its length was not held to the end. */
export const HOLD_SLACK_MS = 2000;
/** A request cut sooner than this was never held: nothing to learn. */
export const MIN_HELD_MS = 2000;
/** A hold found too long is tried again after this (networks change). */
export const CEILING_TTL_MS = 24 * 3600_000;
/** Holds of one length must end normally for this long in a row before the next is tried (default). */
export const STABLE_MS = 10 * 60_000;

export interface HoldConfig {
  /** `waitSeconds`: the first and shortest hold (0: no long-poll at all). */
  min: number;
  /** `maxWaitSeconds`: the longest; at or below `min` the hold is fixed at `min`. */
  max: number;
  /** `waitGrowAfterSeconds` in ms (default STABLE_MS). */
  stableMs?: number;
}

/** What is kept across restarts (per server). */
export interface Learned {
  /** The longest hold that ended normally (at least `min`). */
  good: number;
  /** The shortest hold found cut, not tried again until `ceilingAt` + CEILING_TTL_MS. */
  ceiling: number | null;
  ceilingAt: number | null;
}

export interface HoldState extends Learned {
  /** The hold the next long-poll asks for. */
  current: number;
  /** Cuts in a row not put down to the hold's length yet. */
  cuts: number;
  /** When the current run of holds that ended normally at `current` began (ms); null: none yet. */
  stableSince: number | null;
}

export type HoldEvent =
  /** A long-poll of `seconds` ended with the service's "unchanged" at the end of the hold. */
  | { type: 'held'; seconds: number; atMs: number }
  /** The service answered (a change) or the request was woken: the connection works, nothing learned. */
  | { type: 'answered' }
  /** A long-poll of `seconds` failed in transport (reset, closed, gateway timeout, own deadline) after `elapsedMs`. */
  | { type: 'cut'; seconds: number; elapsedMs: number; atMs: number }
  /** The service refused to hold that long (its maxWaitSeconds is lower). */
  | { type: 'refused'; seconds: number; atMs: number };

export function adaptive(cfg: HoldConfig): boolean {
  return cfg.min > 0 && cfg.max > cfg.min;
}

/** The holds tried, shortest first: min, min×1.5 (rounded up to 5 s), ..., max. */
export function ladder(cfg: HoldConfig): number[] {
  if (!adaptive(cfg)) return [cfg.min];
  const out = [cfg.min];
  for (let a = cfg.min; a < cfg.max;) {
    let n = Math.ceil((a * FACTOR) / 5) * 5;
    // A last step within a fifth of the maximum goes to the maximum.
    if (n >= cfg.max || cfg.max - n < n / 5) n = cfg.max;
    out.push(n);
    a = n;
  }
  return out;
}

/** The state to start with, from what was learned before (clamped to the current config). */
export function initialHold(cfg: HoldConfig, learned: Learned | null): HoldState {
  const fresh: HoldState = { current: cfg.min, good: cfg.min, ceiling: null, ceilingAt: null, cuts: 0, stableSince: null };
  if (!adaptive(cfg) || !learned) return fresh;
  const steps = ladder(cfg);
  // A value from another ladder (config changed) falls to the step at or below it.
  const good = atOrBelow(steps, learned.good);
  const ceiling = learned.ceiling !== null && learned.ceiling > good ? learned.ceiling : null;
  return { current: good, good, ceiling, ceilingAt: ceiling === null ? null : learned.ceilingAt, cuts: 0, stableSince: null };
}

export function nextHold(s: HoldState, e: HoldEvent, cfg: HoldConfig): HoldState {
  if (!adaptive(cfg)) return s;
  const steps = ladder(cfg);
  switch (e.type) {
    case 'answered':
      return s.cuts === 0 ? s : { ...s, cuts: 0 };
    case 'held': {
      let { ceiling, ceilingAt } = s;
      if (ceilingAt !== null && e.atMs - ceilingAt >= CEILING_TTL_MS) ceiling = ceilingAt = null;
      const good = Math.max(s.good, atOrBelow(steps, e.seconds));
      const base = Math.max(s.current, good);
      const stableSince = s.stableSince ?? e.atMs - e.seconds * 1000;
      // Proven long enough: one step longer, staying below the ceiling; the new length proves itself anew.
      const up = steps.find((x) => x > base);
      if (e.atMs - stableSince >= (cfg.stableMs ?? STABLE_MS) && up !== undefined && (ceiling === null || up < ceiling)) {
        return { current: up, good, ceiling, ceilingAt, cuts: 0, stableSince: null };
      }
      return { current: base, good, ceiling, ceilingAt, cuts: 0, stableSince };
    }
    case 'refused': {
      if (e.seconds <= cfg.min) return s;
      return learnTooLong(s, steps, e.seconds, e.seconds, e.atMs);
    }
    case 'cut': {
      if (e.elapsedMs < MIN_HELD_MS) return s;
      const pastGood = e.elapsedMs >= s.good * 1000 - HOLD_SLACK_MS;
      // Nothing came back until the agent's own deadline: a middlebox dropped it, no restart does that.
      const silent = e.elapsedMs > e.seconds * 1000 + HOLD_SLACK_MS;
      const provenHold = e.seconds <= s.good;
      // Not put down to the hold yet, but the run of normal holds is broken.
      if ((!pastGood || (provenHold && !silent)) && s.cuts === 0) return { ...s, cuts: 1, stableSince: null };
      return learnTooLong(s, steps, e.seconds, Math.min(e.seconds, e.elapsedMs / 1000), e.atMs);
    }
  }
}

/**
 * A hold of `seconds` does not work, and the connection lasted `limit`
 * seconds: the hold that works is below both. Keeps `good` if it is already
 * below; steps it down otherwise (never below min).
 */
function learnTooLong(s: HoldState, steps: number[], seconds: number, limit: number, atMs: number): HoldState {
  const good = s.good < limit ? s.good : below(steps, limit);
  const ceiling = Math.min(s.ceiling ?? Infinity, Math.max(seconds, good + 1));
  return { current: good, good, ceiling, ceilingAt: atMs, cuts: 0, stableSince: null };
}

/** The longest step strictly below `x`, or the shortest. */
function below(steps: number[], x: number): number {
  let r = steps[0];
  for (const v of steps) if (v < x) r = v;
  return r;
}

/** The longest step at or below `x`, or the shortest. */
function atOrBelow(steps: number[], x: number): number {
  let r = steps[0];
  for (const v of steps) if (v <= x) r = v;
  return r;
}

/** The part of the state worth keeping across restarts. */
export function learnedOf(s: HoldState): Learned {
  return { good: s.good, ceiling: s.ceiling, ceilingAt: s.ceilingAt };
}

/** What a long-poll's outcome says about its hold (null: nothing; it was not a held request). */
export function holdEventOf(
  o: { ok: true; status: number; changed: boolean } | { ok: false; error: Error; revoked: boolean; rejected: boolean },
  seconds: number, elapsedMs: number, atMs: number,
): HoldEvent | null {
  if (seconds <= 0) return null;
  if (o.ok) {
    return o.status === 304 && !o.changed && elapsedMs >= seconds * 1000 - HOLD_SLACK_MS
      ? { type: 'held', seconds, atMs } : { type: 'answered' };
  }
  if (o.revoked || o.rejected) return null;
  const e = o.error as Error & { kind?: string; status?: number | null; code?: string };
  // A transport failure, or a gateway's own answer that it gave up waiting (502/504).
  if (e.kind === 'network' || (e.kind === 'http' && (e.status === 502 || e.status === 504))) {
    return { type: 'cut', seconds, elapsedMs, atMs };
  }
  // The service's own limit on ?wait= is lower than the hold asked for.
  if (e.kind === 'http' && e.status === 400 && e.code === 'VALIDATION_FAILED') return { type: 'refused', seconds, atMs };
  return null;
}
