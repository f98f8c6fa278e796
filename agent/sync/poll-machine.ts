// The long-poll loop's decisions as one PURE function: next(state, event)
// returns the new state and how long to wait before the next round, plus
// what the driver (poll.ts) must do to the world: abort the request in
// flight, cut a sleep short, refuse a wake. No timers, no I/O, no clock:
// poll.ts feeds it events and carries out the answer, and
// test/agent/poll-machine.unit.test.ts checks it as a table.
//
// A round: 'begin' (the request to send), 'answered' (the service replied or
// the request failed), 'handled' (the daemon acted on the outcome; wakes that
// came meanwhile count), then a sleep of `delay` ms ('slept') or the next
// round at once. A wake cuts a held long-poll short, and a sleep only when
// forced or when nothing failed (a backoff pause holds against ordinary
// wakes). A revoked device pauses until 'resume'.

/** A request made after a response sooner than this without news did not long-poll. */
export const QUICK_MS = 1000;

export type Phase = 'idle' | 'requesting' | 'handling' | 'sleeping' | 'paused' | 'stopped';

/** A wake not served yet: the next round is immediate (no long-poll). */
export interface Want {
  unconditional: boolean;
  force: boolean;
}

export interface PollState {
  phase: Phase;
  /** Failures (and idle answers) in a row: the backoff's attempt count. */
  failures: number;
  /** Revoked (or paused by hand): no requests until resume. */
  paused: boolean;
  want: Want | null;
  /** The current round's request; an immediate one is not cut short by a wake. */
  request: { waitSeconds: number; conditional: boolean; immediate: boolean } | null;
}

export interface PollConfig {
  /** The long-poll hold asked for; 0: no long-poll (sleep until woken). */
  waitSeconds: number;
  /** Backoff delay before attempt `failures + 1` (full jitter; Retry-After a lower bound). */
  backoffDelay: (failures: number, retryAfterMs?: number) => number;
}

export type PollEvent =
  | { type: 'begin' }
  | { type: 'aborted' }
  | { type: 'answered' }
  | { type: 'handled'; ok: boolean; changed: boolean; revoked: boolean; retryAfterMs?: number; elapsedMs: number }
  | { type: 'slept' }
  | { type: 'wake'; unconditional: boolean; force: boolean }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' };

export interface Step {
  state: PollState;
  /** ms to sleep before the next round (Infinity: until woken); 0: go on at once. */
  delay: number;
  /** Abort the request in flight. */
  abort?: boolean;
  /** Cut the current sleep short. */
  cutSleep?: boolean;
  /** After a failure: the backoff pause (logged; `delay` is 0 instead when a forced wake came meanwhile). */
  retryMs?: number;
  /** A wake that will not be served (stopped or paused): its caller gets null at once. */
  refused?: boolean;
}

export const initialPollState: PollState = { phase: 'idle', failures: 0, paused: false, want: null, request: null };

export function next(s: PollState, e: PollEvent, cfg: PollConfig): Step {
  if (s.phase === 'stopped') return { state: s, delay: 0, refused: e.type === 'wake' };
  switch (e.type) {
    case 'begin': {
      if (s.paused) return { state: { ...s, phase: 'paused' }, delay: Infinity };
      const immediate = s.want !== null;
      const request = { waitSeconds: immediate ? 0 : cfg.waitSeconds, conditional: !(s.want?.unconditional ?? false), immediate };
      return { state: { ...s, phase: 'requesting', want: null, request }, delay: 0 };
    }
    case 'aborted':
      // Woken: go round at once (the wake is still wanted).
      return { state: { ...s, phase: 'idle' }, delay: 0 };
    case 'answered':
      return { state: { ...s, phase: 'handling' }, delay: 0 };
    case 'handled':
      return handled(s, e, cfg);
    case 'slept':
      return { state: s.phase === 'sleeping' ? { ...s, phase: 'idle' } : s, delay: 0 };
    case 'wake': {
      if (s.paused) return { state: s, delay: 0, refused: true };
      const want = { unconditional: (s.want?.unconditional ?? false) || e.unconditional, force: (s.want?.force ?? false) || e.force };
      return {
        state: { ...s, want }, delay: 0,
        abort: s.phase === 'requesting' && !s.request?.immediate,
        cutSleep: s.phase === 'sleeping' && (e.force || s.failures === 0),
      };
    }
    case 'pause':
      return { state: { ...s, paused: true }, delay: 0 };
    case 'resume':
      if (!s.paused) return { state: s, delay: 0 };
      return {
        state: { ...s, paused: false, failures: 0, phase: s.phase === 'paused' ? 'idle' : s.phase }, delay: 0,
        cutSleep: s.phase === 'paused' || s.phase === 'sleeping',
      };
    case 'stop':
      return {
        state: { ...s, phase: 'stopped' }, delay: 0,
        abort: s.phase === 'requesting', cutSleep: s.phase === 'sleeping' || s.phase === 'paused',
      };
  }
}

function handled(s: PollState, e: Extract<PollEvent, { type: 'handled' }>, cfg: PollConfig): Step {
  // Revoked: pause; the next 'begin' sleeps until resume.
  if (!e.ok && e.revoked) return { state: { ...s, phase: 'idle', paused: true }, delay: 0 };
  let failures = s.failures;
  let delay: number;
  if (!e.ok) {
    delay = cfg.backoffDelay(failures++, e.retryAfterMs);
  } else if ((s.request?.waitSeconds ?? 0) > 0 && !e.changed && e.elapsedMs < QUICK_MS) {
    // The service did not hold the request: do not turn the loop into a busy poll.
    delay = Math.max(QUICK_MS, cfg.backoffDelay(failures++));
  } else {
    failures = 0;
    delay = cfg.waitSeconds === 0 && !s.want ? Infinity : 0;
  }
  // Woken while this request ran or its outcome was handled: the waiter wants
  // a fresh answer now. After a failure only a forced wake skips the pause,
  // as it would have cut the pause short had it come a moment later.
  const retryMs = e.ok ? undefined : delay;
  if (s.want && (e.ok || s.want.force)) delay = 0;
  return { state: { ...s, failures, phase: delay > 0 ? 'sleeping' : 'idle' }, delay, ...(retryMs === undefined ? {} : { retryMs }) };
}
