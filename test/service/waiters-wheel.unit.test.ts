// The long-poll waiters' shared timer wheel (service/http/waiters.ts), with
// Vitest's fake clock (its fake timers include performance.now): a wait never
// ends before its time, ends at most one slot after it, whatever the wall
// clock does meanwhile, and a wait woken or aborted before then is gone from
// the wheel (it never also times out, and the wheel stops when nothing waits).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TICK_MS, Waiters, type WaitEnd } from '../../service/http/waiters.ts';

function park(w: Waiters, device: string, ms: number) {
  let cancel = () => {};
  const p = w.wait(device, ms, (c) => { cancel = c; });
  const ends: WaitEnd[] = [];
  p?.then((e) => ends.push(e));
  return { ends, cancel: () => cancel() };
}

beforeEach(() => { vi.useFakeTimers(); vi.setSystemTime(1_000_037); });
afterEach(() => { vi.useRealTimers(); });

describe('Waiters timer wheel', () => {
  it('a wait times out no earlier than its time and at most one slot (and the interval\'s phase) later', async () => {
    for (const ms of [1, 99, 100, 250, 1000, 55_000]) {
      const w = new Waiters();
      const started = Date.now();
      const x = park(w, 'd', ms);
      // Just before its time: still held.
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(x.ends, `${ms} ms wait at ${Date.now() - started} ms`).toEqual([]);
      await vi.advanceTimersByTimeAsync(1 + 2 * TICK_MS);
      expect(x.ends, `${ms} ms wait at ${Date.now() - started} ms`).toEqual(['timeout']);
      expect(w.count).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    }
  });

  it('a wait woken, aborted or replaced before its time does not also time out', async () => {
    const w = new Waiters({ maxPerDevice: 1 });
    const woken = park(w, 'a', 300);
    const aborted = park(w, 'b', 300);
    const replaced = park(w, 'c', 300);
    const newer = park(w, 'c', 300);
    const stays = park(w, 'e', 300);
    w.notify(['a']);
    aborted.cancel();
    await vi.advanceTimersByTimeAsync(1000);
    expect([woken.ends, aborted.ends, replaced.ends, newer.ends, stays.ends]).toEqual([['changed'], ['aborted'], ['replaced'], ['timeout'], ['timeout']]);
    expect(w.count).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a wait ends on time when the wall clock is stepped back or forward meanwhile', async () => {
    for (const step of [-3_600_000, -1_000, 1_000, 3_600_000]) {
      const w = new Waiters();
      const x = park(w, 'd', 1000);
      await vi.advanceTimersByTimeAsync(500);
      vi.setSystemTime(Date.now() + step);
      await vi.advanceTimersByTimeAsync(499);
      expect(x.ends, `wall clock stepped by ${step} ms`).toEqual([]);
      await vi.advanceTimersByTimeAsync(1 + 2 * TICK_MS);
      expect(x.ends, `wall clock stepped by ${step} ms`).toEqual(['timeout']);
      expect(vi.getTimerCount()).toBe(0);
    }
  });

  it('the wheel runs only while something waits, and catches up on slots it missed', async () => {
    let late = 0;
    const w = new Waiters({ now: () => performance.now() + late });
    expect(vi.getTimerCount()).toBe(0);
    const x = park(w, 'd', 150);
    expect(vi.getTimerCount()).toBe(1);
    // The interval runs 10 s late (a busy event loop): every slot passed is turned.
    late = 10_000;
    await vi.advanceTimersByTimeAsync(TICK_MS);
    expect(x.ends).toEqual(['timeout']);
    expect(vi.getTimerCount()).toBe(0);
    const y = park(w, 'd', 150);
    w.releaseAll();
    await vi.advanceTimersByTimeAsync(0);
    expect(y.ends).toEqual(['released']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a device\'s waits keep their order: the oldest is replaced first, notify ends them all', async () => {
    const w = new Waiters({ maxPerDevice: 3 });
    const a = [park(w, 'd', 5000), park(w, 'd', 5000), park(w, 'd', 5000)];
    expect(w.countFor('d')).toBe(3);
    a.push(park(w, 'd', 5000));
    a.push(park(w, 'd', 5000));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.map((x) => x.ends)).toEqual([['replaced'], ['replaced'], [], [], []]);
    a[3].cancel();
    w.notify(['d']);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.map((x) => x.ends)).toEqual([['replaced'], ['replaced'], ['changed'], ['aborted'], ['changed']]);
    expect(w.countFor('d')).toBe(0);
    expect(w.count).toBe(0);
  });
});
