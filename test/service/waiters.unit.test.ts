// The long-poll waiters' caps, without processes: per device the oldest wait
// is replaced, service-wide a wait past the cap is refused (null).
import { describe, expect, it } from 'vitest';
import { Waiters, type WaitEnd } from '../../service/http/waiters.ts';

function park(w: Waiters, device: string, ms = 60_000) {
  let cancel = () => {};
  const p = w.wait(device, ms, (c) => { cancel = c; });
  const ends: WaitEnd[] = [];
  p?.then((e) => ends.push(e));
  return { p, ends, cancel: () => cancel() };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('Waiters', () => {
  it("notifyAll ('all' changed: a missed notice) wakes every device's waits as changed", async () => {
    const w = new Waiters();
    const a = [park(w, 'd1'), park(w, 'd1'), park(w, 'd2')];
    w.notifyAll();
    await tick();
    expect(a.map((x) => x.ends)).toEqual([['changed'], ['changed'], ['changed']]);
    expect(w.count).toBe(0);
    expect(w.countFor('d1')).toBe(0);
  });

  it('holds at most 2 per device: each new wait replaces the oldest', async () => {
    const w = new Waiters();
    const a = [park(w, 'd1'), park(w, 'd1')];
    expect(w.countFor('d1')).toBe(2);
    for (let i = 2; i < 10; i++) {
      a.push(park(w, 'd1'));
      await tick();
      expect(w.countFor('d1')).toBe(2);
      expect(a[i - 2].ends).toEqual(['replaced']);
      expect(a[i - 1].ends).toEqual([]);
    }
    expect(w.count).toBe(2);
    expect(w.replaced).toBe(8);
    w.notify(['d1']);
    await tick();
    expect(a.slice(-2).map((x) => x.ends)).toEqual([['changed'], ['changed']]);
    expect(w.count).toBe(0);
  });

  it('refuses past the service-wide cap; a device replacing its own wait still gets in', async () => {
    const w = new Waiters({ maxTotal: 3 });
    const a = park(w, 'a');
    const b1 = park(w, 'b');
    const b2 = park(w, 'b');
    expect(w.count).toBe(3);
    expect(park(w, 'c').p).toBeNull();
    expect(w.refused).toBe(1);
    const b3 = park(w, 'b');
    expect(b3.p).not.toBeNull();
    await tick();
    expect(b1.ends).toEqual(['replaced']);
    expect(w.count).toBe(3);
    a.cancel();
    await tick();
    expect(a.ends).toEqual(['aborted']);
    expect(park(w, 'c').p).not.toBeNull();
    w.releaseAll();
    await tick();
    expect(b2.ends).toEqual(['released']);
    expect(w.count).toBe(0);
  });

  it('ends each wait once (timeout, then a late cancel or notify change nothing)', async () => {
    const w = new Waiters({ maxPerDevice: 1 });
    const x = park(w, 'd', 5);
    await x.p;
    x.cancel();
    w.notify(['d']);
    await tick();
    expect(x.ends).toEqual(['timeout']);
    expect(w.count).toBe(0);
  });
});
