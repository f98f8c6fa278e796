// The poll loop's state machine as a table: for each state and event, the
// next state, the delay and what the driver must do (abort, cut the sleep,
// refuse a wake). poll.unit.test.ts drives the real loop with fake timers.
import { describe, expect, it } from 'vitest';
import { initialPollState, next, QUICK_MS, type PollConfig, type PollEvent, type PollState, type Step } from '../../agent/sync/poll-machine.ts';

// Backoff without jitter: 1 s, 2 s, 4 s ... (the real one draws below this cap).
const cfg: PollConfig = { waitSeconds: 55, backoffDelay: (n, retryAfterMs) => Math.max(1000 * 2 ** n, retryAfterMs ?? 0) };
const noLongPoll: PollConfig = { ...cfg, waitSeconds: 0 };

const st = (over: Partial<PollState> = {}): PollState => ({ ...initialPollState, ...over });
const held = { waitSeconds: 55, conditional: true, immediate: false };
const immediate = { waitSeconds: 0, conditional: true, immediate: true };
const ok = (over: Partial<Extract<PollEvent, { type: 'handled' }>> = {}): PollEvent =>
  ({ type: 'handled', ok: true, changed: false, revoked: false, elapsedMs: 55_000, ...over });
const failed = (over: Partial<Extract<PollEvent, { type: 'handled' }>> = {}): PollEvent =>
  ({ type: 'handled', ok: false, changed: false, revoked: false, elapsedMs: 50, ...over });
const wake = (force = false, unconditional = false): PollEvent => ({ type: 'wake', force, unconditional });

type Row = [name: string, state: PollState, event: PollEvent, expected: Omit<Partial<Step>, 'state'> & { state?: Partial<PollState> }, config?: PollConfig];

const rows: Row[] = [
  // Starting a round.
  ['a round without a wake long-polls, conditionally', st(), { type: 'begin' },
    { delay: 0, state: { phase: 'requesting', request: held } }],
  ['a round after a wake is immediate', st({ want: { unconditional: false, force: false } }), { type: 'begin' },
    { state: { phase: 'requesting', want: null, request: immediate } }],
  ['an unconditional wake asks without the ETag', st({ want: { unconditional: true, force: true } }), { type: 'begin' },
    { state: { request: { waitSeconds: 0, conditional: false, immediate: true } } }],
  ['a paused device sleeps until resumed', st({ paused: true }), { type: 'begin' },
    { delay: Infinity, state: { phase: 'paused' } }],

  // After an answer.
  ['a held long-poll that ends unchanged goes round at once and resets the backoff', st({ phase: 'handling', request: held, failures: 3 }), ok(),
    { delay: 0, state: { phase: 'idle', failures: 0 } }],
  ['a change goes round at once', st({ phase: 'handling', request: held }), ok({ changed: true, elapsedMs: 10 }),
    { delay: 0, state: { failures: 0 } }],
  ['"unchanged" without holding is not a busy loop', st({ phase: 'handling', request: held }), ok({ elapsedMs: QUICK_MS - 1 }),
    { delay: QUICK_MS, state: { phase: 'sleeping', failures: 1 } }],
  ['... and backs off when it keeps happening', st({ phase: 'handling', request: held, failures: 3 }), ok({ elapsedMs: 5 }),
    { delay: 8000, state: { failures: 4 } }],
  ['an immediate "unchanged" is no sign of a service that does not hold', st({ phase: 'handling', request: immediate }), ok({ elapsedMs: 5 }),
    { delay: 0, state: { phase: 'idle' } }],
  ['a failure backs off', st({ phase: 'handling', request: held }), failed(),
    { delay: 1000, retryMs: 1000, state: { phase: 'sleeping', failures: 1 } }],
  ['... growing', st({ phase: 'handling', request: held, failures: 2 }), failed(),
    { delay: 4000, retryMs: 4000, state: { failures: 3 } }],
  ['Retry-After is a lower bound', st({ phase: 'handling', request: held }), failed({ retryAfterMs: 30_000 }),
    { delay: 30_000, state: { failures: 1 } }],
  ['a revocation pauses', st({ phase: 'handling', request: held, failures: 2 }), failed({ revoked: true }),
    { delay: 0, state: { paused: true, phase: 'idle', failures: 2 } }],
  ['a wake during the round: go again at once after a success', st({ phase: 'handling', request: immediate, want: { unconditional: false, force: false } }), ok({ elapsedMs: 5 }),
    { delay: 0, state: { phase: 'idle' } }],
  ['... but an ordinary wake does not skip a backoff pause', st({ phase: 'handling', request: held, want: { unconditional: false, force: false } }), failed(),
    { delay: 1000, state: { phase: 'sleeping' } }],
  ['... a forced one does (the pause is still logged)', st({ phase: 'handling', request: held, want: { unconditional: false, force: true } }), failed(),
    { delay: 0, retryMs: 1000, state: { phase: 'idle', failures: 1 } }],
  ['without long-poll an answer sleeps until woken', st({ phase: 'handling', request: immediate }), ok({ elapsedMs: 5 }),
    { delay: Infinity, state: { phase: 'sleeping' } }, noLongPoll],
  ['... unless a wake is waiting', st({ phase: 'handling', request: immediate, want: { unconditional: true, force: false } }), ok({ elapsedMs: 5 }),
    { delay: 0 }, noLongPoll],

  // Wakes.
  ['a wake cuts a held long-poll short', st({ phase: 'requesting', request: held }), wake(),
    { abort: true, cutSleep: false, state: { want: { unconditional: false, force: false } } }],
  ['a wake leaves an immediate request alone (its answer is fresh)', st({ phase: 'requesting', request: immediate }), wake(true),
    { abort: false, state: { want: { unconditional: false, force: true } } }],
  ['wakes add up', st({ phase: 'requesting', request: immediate, want: { unconditional: true, force: false } }), wake(true),
    { state: { want: { unconditional: true, force: true } } }],
  ['a wake cuts a sleep short when nothing failed', st({ phase: 'sleeping' }), wake(),
    { cutSleep: true, abort: false }],
  ['an ordinary wake does not cut a backoff pause', st({ phase: 'sleeping', failures: 2 }), wake(),
    { cutSleep: false, state: { want: { unconditional: false, force: false } } }],
  ['a forced wake does', st({ phase: 'sleeping', failures: 2 }), wake(true),
    { cutSleep: true }],
  ['a wake while the outcome is handled only waits for the next round', st({ phase: 'handling', request: held }), wake(true),
    { abort: false, cutSleep: false, state: { want: { unconditional: false, force: true } } }],
  ['a paused device refuses wakes', st({ phase: 'paused', paused: true }), wake(true),
    { refused: true, state: { want: null } }],
  ['a stopped loop refuses wakes', st({ phase: 'stopped' }), wake(true),
    { refused: true, state: { phase: 'stopped' } }],

  // Pause, resume, stop.
  ['resume ends the pause, resets the backoff and cuts its sleep', st({ phase: 'paused', paused: true, failures: 4 }), { type: 'resume' },
    { cutSleep: true, state: { phase: 'idle', paused: false, failures: 0 } }],
  ['resume without a pause does nothing', st({ phase: 'sleeping', failures: 4 }), { type: 'resume' },
    { state: { phase: 'sleeping', failures: 4 } }],
  ['pause by hand takes effect at the next round', st({ phase: 'requesting', request: held }), { type: 'pause' },
    { state: { phase: 'requesting', paused: true } }],
  ['stop aborts the request in flight', st({ phase: 'requesting', request: held }), { type: 'stop' },
    { abort: true, state: { phase: 'stopped' } }],
  ['stop cuts any sleep short', st({ phase: 'sleeping', failures: 3 }), { type: 'stop' },
    { cutSleep: true, state: { phase: 'stopped' } }],
  ['stop ends a pause', st({ phase: 'paused', paused: true }), { type: 'stop' },
    { cutSleep: true, state: { phase: 'stopped' } }],
  ['a stopped loop stays stopped', st({ phase: 'stopped' }), { type: 'begin' },
    { state: { phase: 'stopped', request: null } }],

  // Bookkeeping.
  ['an aborted request goes round at once, the wake still wanted', st({ phase: 'requesting', request: held, want: { unconditional: false, force: false } }), { type: 'aborted' },
    { delay: 0, state: { phase: 'idle', want: { unconditional: false, force: false } } }],
  ['an answer moves to handling', st({ phase: 'requesting', request: held }), { type: 'answered' },
    { state: { phase: 'handling' } }],
  ['the end of a sleep starts the next round', st({ phase: 'sleeping' }), { type: 'slept' },
    { state: { phase: 'idle' } }],
  ['the end of a pause by stop keeps it stopped', st({ phase: 'stopped' }), { type: 'slept' },
    { state: { phase: 'stopped' } }],
];

describe('poll state machine', () => {
  it.each(rows)('%s', (_name, state, event, expected, config = cfg) => {
    const before = structuredClone(state);
    const step = next(state, event, config);
    const { state: want, ...rest } = expected;
    expect(step).toMatchObject(rest);
    if (want) expect(step.state).toMatchObject(want);
    expect(state).toEqual(before); // pure: the input is never changed
  });

  it('plays a whole outage: back off, recover, long-poll again', () => {
    let s = initialPollState;
    const delays: number[] = [];
    const round = (e: PollEvent) => {
      s = next(s, { type: 'begin' }, cfg).state;
      s = next(s, { type: 'answered' }, cfg).state;
      const step = next(s, e, cfg);
      s = step.state;
      delays.push(step.delay);
      if (step.delay > 0) s = next(s, { type: 'slept' }, cfg).state;
    };
    for (let i = 0; i < 4; i++) round(failed());
    round(ok()); // a held long-poll: the backoff starts over
    round(ok({ elapsedMs: 30 })); // not held: a short pause
    round(ok());
    expect(delays).toEqual([1000, 2000, 4000, 8000, 0, QUICK_MS, 0]);
    expect(s).toMatchObject({ phase: 'idle', failures: 0 });
  });
});
