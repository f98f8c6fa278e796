// The observed-time mark: the latest reading of this device's OWN clock that
// the agent has recorded, with the decision it took at that reading. It
// closes the offline rollback: clock moved ahead (the token expires), then
// back (the token would look valid again). decide() treats a clock below the
// mark (beyond CLOCK_TOLERANCE_MS) as untrusted; see decide.ts for the policy
// and agent/README.md for the consequences.
//
// The mark is raised by decisions and never lowered by them; only a successful
// sync moves it, to the local time of that sync (the service's time wins, so a
// clock that was wrongly far ahead cannot lock an online device out). It lives
// in agent.db next to the cached token (store.ts, migration 2): whatever loses
// the mark (a rebuilt database) loses the token too, and without a token the
// device is read-only until a sync, which would re-anchor the mark anyway.
//
// Recording is cheap: at most one small write per RECORD_STEP_MS of clock
// progress (the daemon re-decides once a minute), plus at once when a decision
// turns on time, so a restart right after "expired" cannot forget it. Pure: the
// caller persists what markToRecord returns.

/** The mark as stored: local clock ms, and the decision reason then (null: set by a sync). */
export interface ObservedMark {
  localMs: number;
  reason: string | null;
}

/** Clock progress between routine writes of the mark. Far below the 5 min tolerance. */
export const RECORD_STEP_MS = 60_000;

/** Reasons that depend on where the clock is: recorded the moment they are first decided. */
const TIME_REASONS: ReadonlySet<string> = new Set(['TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID']);

/**
 * The mark to store after a decision with `reason` taken at local time
 * `nowMs`, or null when the stored `mark` is good enough (no write).
 */
export function markToRecord(mark: ObservedMark | null, nowMs: number, reason: string): ObservedMark | null {
  if (!Number.isFinite(nowMs)) return null;
  if (mark === null) return { localMs: nowMs, reason };
  // Never lowered here: a clock behind the mark is the very thing to catch.
  if (nowMs <= mark.localMs) return null;
  if (nowMs - mark.localMs >= RECORD_STEP_MS) return { localMs: nowMs, reason };
  if (TIME_REASONS.has(reason) && reason !== mark.reason) return { localMs: nowMs, reason };
  return null;
}
