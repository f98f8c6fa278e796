// The long-poll loop's use of the shared Backoff: growth, Retry-After, reset
// on success, no busy loop against a service that does not hold requests,
// stop on revocation, and wake-ups. Timers are faked: no real waiting.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from '../../shared/backoff.ts';
import { silentLogger } from '../../shared/log.ts';
import { Poller, type SyncFn } from '../../agent/sync/poll.ts';
import type { SyncOutcome } from '../../agent/sync/sync.ts';

const fail = (retryAfterMs?: number): SyncOutcome => ({ ok: false, error: new Error('down'), revoked: false, rejected: false, retryAfterMs });
const unchanged: SyncOutcome = { ok: true, status: 304, changed: false, seq: 1 };
const revoked: SyncOutcome = { ok: false, error: new Error('401'), revoked: true, rejected: false };

function harness(answer: (n: number, o: { waitSeconds: number; signal: AbortSignal }) => Promise<SyncOutcome>, waitSeconds = 55) {
  const calls: { at: number; wait: number; conditional: boolean }[] = [];
  const sync: SyncFn = async (o) => {
    calls.push({ at: Date.now(), wait: o.waitSeconds, conditional: o.conditional });
    return answer(calls.length, o);
  };
  const outcomes: SyncOutcome[] = [];
  const poller = new Poller({
    sync, waitSeconds, log: silentLogger(),
    backoff: new Backoff({ baseMs: 1000, maxMs: 60_000, random: () => 1 }),
    onOutcome: async (o) => { outcomes.push(o); },
    setNextSync: () => {},
  });
  return { poller, calls, outcomes };
}

/** A long-poll the "service" holds for `wait` seconds, or until aborted. */
function held(o: { waitSeconds: number; signal: AbortSignal }, result: SyncOutcome): Promise<SyncOutcome> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(result), o.waitSeconds * 1000);
    o.signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    });
  });
}

beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'setImmediate'] }); });
afterEach(() => { vi.useRealTimers(); });

describe('Poller', () => {
  it('backs off exponentially while the service is down, up to the cap', async () => {
    const { poller, calls } = harness(async () => fail());
    poller.start();
    await vi.advanceTimersByTimeAsync(200_000);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    expect(gaps.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000]);
    expect(calls.length).toBeLessThan(12);
    await poller.stop();
  });

  it('honours Retry-After as a lower bound', async () => {
    const { poller, calls } = harness(async (n) => (n === 1 ? fail(30_000) : unchanged));
    poller.start();
    await vi.advanceTimersByTimeAsync(29_000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toHaveLength(2);
    await poller.stop();
  });

  it('long-polls back to back and resets the backoff after a success', async () => {
    const { poller, calls } = harness(async (n, o) => (n <= 3 ? fail() : held(o, unchanged)));
    poller.start();
    await vi.advanceTimersByTimeAsync(7_000 + 55_000 * 3 + 10);
    // 3 failures (1 s, 2 s, 4 s apart), then held polls of 55 s each, with no pause between them.
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    expect(gaps.slice(0, 3)).toEqual([1000, 2000, 4000]);
    expect(gaps.slice(3)).toEqual([55_000, 55_000, 55_000]);
    expect(calls[4].wait).toBe(55);
    await poller.stop();
  });

  it('does not busy-loop when the service answers "unchanged" without holding', async () => {
    const { poller, calls } = harness(async () => unchanged);
    poller.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.length).toBeLessThan(10);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(1000);
    await poller.stop();
  });

  it('stops asking after a revocation until resumed, and never loops', async () => {
    const { poller, calls } = harness(async (n) => (n === 1 ? revoked : unchanged));
    poller.start();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toHaveLength(1);
    expect(await poller.wake({ force: true })).toBeNull();
    expect(calls).toHaveLength(1);
    poller.resume();
    await vi.advanceTimersByTimeAsync(10);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    await poller.stop();
  });

  it('wake() cuts a held long-poll short and resolves with the immediate sync', async () => {
    const changed: SyncOutcome = { ok: true, status: 200, changed: true, seq: 2 };
    const { poller, calls } = harness(async (_n, o) => (o.waitSeconds > 0 ? held(o, unchanged) : changed));
    poller.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
    const p = poller.wake({ unconditional: true, force: true });
    await vi.advanceTimersByTimeAsync(10);
    expect(await p).toEqual(changed);
    expect(calls[1]).toMatchObject({ wait: 0, conditional: false });
    await poller.stop();
  });

  it('a forced wake cuts a backoff pause short; an ordinary one does not', async () => {
    const { poller, calls } = harness(async () => fail());
    poller.start();
    await vi.advanceTimersByTimeAsync(3_500); // calls at 0, 1000, 3000; next due at 7000
    expect(calls).toHaveLength(3);
    void poller.wake();
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(3);
    void poller.wake({ force: true });
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(4);
    await poller.stop();
  });

  it('a forced wake that comes while a failure is being handled does not wait out the next pause', async () => {
    let woken: Promise<SyncOutcome | null> | null = null;
    const calls: number[] = [];
    const poller: Poller = new Poller({
      sync: async () => { calls.push(Date.now()); return fail(); },
      waitSeconds: 55, log: silentLogger(),
      backoff: new Backoff({ baseMs: 1000, maxMs: 60_000, random: () => 1 }),
      // As the daemon does when it notices a clock jump while deciding on a failed sync.
      onOutcome: async () => { if (calls.length === 3 && !woken) woken = poller.wake({ force: true }); },
      setNextSync: () => {},
    });
    poller.start();
    await vi.advanceTimersByTimeAsync(3_100); // calls at 0, 1000, 3000; the wake came during the third's outcome
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toHaveLength(4);
    expect(calls[3] - calls[2]).toBeLessThan(100);
    expect(await woken).toMatchObject({ ok: false });
    await poller.stop();
  });
});
