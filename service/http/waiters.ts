// Long-poll waiters: agents holding `?wait=` requests park here, keyed by
// device id, and are woken the moment their device's entitlement changes.
//
// Bounded twice, so that long-polls cannot starve the rest of the service:
// - per device (default 2): a real agent holds one long-poll; a second comes
//   when its old connection died unseen (NAT, sleep) and it reconnected. A
//   new wait past the cap ends the device's OLDEST wait ('replaced'), which is
//   the one most likely to be dead; a flood from one device key holds 2.
// - service-wide (maxLongPolls): past it wait() refuses (returns null) and
//   the caller answers at once instead of holding the request.
//
// Kept small per held wait, because a replica holds tens of thousands and
// one assign wakes and re-arms them all (bench/wake-cost.ts): one Wait object
// (its device's waits are a list through it, oldest first, the device's map
// entry pointing at the oldest) and no timer of its own: waits end by a
// shared timer wheel of TICK_MS slots, never early, at most one slot late.
// The wheel counts on the monotonic clock (performance.now), not the wall
// clock: when NTP steps the time back, held waits must still end on time,
// as the per-wait setTimeout before the wheel did.

/** Why a wait ended. */
export type WaitEnd = 'changed' | 'timeout' | 'replaced' | 'released' | 'aborted';

export const DEFAULT_WAITS_PER_DEVICE = 2;
/** The timer wheel's slot: a wait of `ms` ends between `ms` and `ms + TICK_MS` after it began. */
export const TICK_MS = 100;

class Wait {
  /** The next newer wait of the same device, and the next older one. */
  newer: Wait | undefined;
  older: Wait | undefined;
  ended = false;
  readonly owner: Waiters;
  readonly deviceId: string;
  readonly slot: number;
  private readonly resolve: (end: WaitEnd) => void;
  /** Handed to the caller's onAbort: its request's connection closed. */
  readonly cancel = (): void => this.end('aborted');

  constructor(owner: Waiters, deviceId: string, slot: number, resolve: (end: WaitEnd) => void) {
    this.owner = owner;
    this.deviceId = deviceId;
    this.slot = slot;
    this.resolve = resolve;
  }

  end(why: WaitEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.remove(this);
    this.resolve(why);
  }
}

export class Waiters {
  /** Each device's oldest wait; the rest follow through `newer`. */
  private readonly byDevice = new Map<string, Wait>();
  /** The timer wheel: waits by the slot they time out in (slot s ends once now() / TICK_MS reaches s). */
  private readonly slots = new Map<number, Set<Wait>>();
  private timer: NodeJS.Timeout | undefined;
  private lastSlot = 0;
  private waiting = 0;
  readonly maxTotal: number;
  readonly maxPerDevice: number;
  /** Milliseconds on a monotonic clock; a test may pass its own to make the wheel's interval run late. */
  private readonly now: () => number;
  /** Waits refused because the service-wide cap was reached, and waits replaced by a newer one of the same device. */
  refused = 0;
  replaced = 0;

  constructor(opts: { maxTotal?: number; maxPerDevice?: number; now?: () => number } = {}) {
    this.maxTotal = opts.maxTotal ?? Infinity;
    this.maxPerDevice = opts.maxPerDevice ?? DEFAULT_WAITS_PER_DEVICE;
    this.now = opts.now ?? (() => performance.now());
  }

  get count(): number {
    return this.waiting;
  }

  /** Waits now held for one device. */
  countFor(deviceId: string): number {
    let n = 0;
    for (let w = this.byDevice.get(deviceId); w; w = w.newer) n++;
    return n;
  }

  /**
   * Holds until the device's entitlement changes, `ms` pass, or the wait is
   * replaced, released or aborted. Returns null, holding nothing, when the
   * service-wide cap is reached (a device's own replaced wait frees its slot first).
   */
  wait(deviceId: string, ms: number, onAbort: (cancel: () => void) => void): Promise<WaitEnd> | null {
    // Make room inside this device's own share first: the oldest wait goes.
    while (this.countFor(deviceId) >= this.maxPerDevice) {
      this.replaced++;
      this.byDevice.get(deviceId)!.end('replaced');
    }
    if (this.waiting >= this.maxTotal) {
      this.refused++;
      return null;
    }
    // The first slot wholly after the wait's end: past every slot the wheel has turned (never skipped), and never early.
    const slot = Math.floor((this.now() + ms) / TICK_MS) + 1;
    let wait!: Wait;
    const ended = new Promise<WaitEnd>((resolve) => { wait = new Wait(this, deviceId, slot, resolve); });
    const oldest = this.byDevice.get(deviceId);
    if (oldest === undefined) this.byDevice.set(deviceId, wait);
    else {
      let newest = oldest;
      while (newest.newer) newest = newest.newer;
      newest.newer = wait;
      wait.older = newest;
    }
    let due = this.slots.get(slot);
    if (due === undefined) this.slots.set(slot, (due = new Set()));
    due.add(wait);
    this.waiting++;
    if (this.timer === undefined) this.startWheel();
    onAbort(wait.cancel);
    return ended;
  }

  /** Takes an ended wait out of its device's list and its slot: Wait.end's part, not for callers. */
  remove(w: Wait): void {
    if (w.older) w.older.newer = w.newer;
    else if (w.newer) this.byDevice.set(w.deviceId, w.newer);
    else this.byDevice.delete(w.deviceId);
    if (w.newer) w.newer.older = w.older;
    w.newer = w.older = undefined;
    const due = this.slots.get(w.slot);
    if (due !== undefined && due.delete(w) && due.size === 0) this.slots.delete(w.slot);
    this.waiting--;
    if (this.waiting === 0) this.stopWheel();
  }

  private startWheel(): void {
    this.lastSlot = Math.floor(this.now() / TICK_MS);
    this.timer = setInterval(() => this.turn(), TICK_MS);
  }

  private stopWheel(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ends the waits of every slot that has passed (an interval can run late: all of them, in order). */
  private turn(): void {
    const now = Math.floor(this.now() / TICK_MS);
    for (let s = this.lastSlot + 1; s <= now; s++) {
      const due = this.slots.get(s);
      if (due === undefined) continue;
      this.slots.delete(s);
      for (const w of due) w.end('timeout');
    }
    this.lastSlot = now;
  }

  /** Ends every wait of a device. */
  private endDevice(deviceId: string, why: WaitEnd): void {
    let w = this.byDevice.get(deviceId);
    while (w) {
      const next = w.newer;
      w.end(why);
      w = next;
    }
  }

  notify(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) this.endDevice(id, 'changed');
  }

  /** Wakes the waits whose key ends with `suffix` (a sign-in domain alias changed: every person `…@domain`). */
  notifySuffix(suffix: string): void {
    for (const key of [...this.byDevice.keys()]) if (key.endsWith(suffix)) this.endDevice(key, 'changed');
  }

  /** Wakes every waiting request as changed: this replica cannot tell which devices changed. */
  notifyAll(): void {
    for (const key of [...this.byDevice.keys()]) this.endDevice(key, 'changed');
  }

  /** Answers every waiting request now (service shutting down). */
  releaseAll(): void {
    for (const key of [...this.byDevice.keys()]) this.endDevice(key, 'released');
  }
}
