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

/** Why a wait ended. */
export type WaitEnd = 'changed' | 'timeout' | 'replaced' | 'released' | 'aborted';
type Wake = (end: WaitEnd) => void;

export const DEFAULT_WAITS_PER_DEVICE = 2;

export class Waiters {
  private readonly byDevice = new Map<string, Set<Wake>>();
  private waiting = 0;
  readonly maxTotal: number;
  readonly maxPerDevice: number;
  /** Waits refused because the service-wide cap was reached, and waits replaced by a newer one of the same device. */
  refused = 0;
  replaced = 0;

  constructor(opts: { maxTotal?: number; maxPerDevice?: number } = {}) {
    this.maxTotal = opts.maxTotal ?? Infinity;
    this.maxPerDevice = opts.maxPerDevice ?? DEFAULT_WAITS_PER_DEVICE;
  }

  get count(): number {
    return this.waiting;
  }

  /** Waits now held for one device. */
  countFor(deviceId: string): number {
    return this.byDevice.get(deviceId)?.size ?? 0;
  }

  /**
   * Holds until the device's entitlement changes, `ms` pass, or the wait is
   * replaced, released or aborted. Returns null, holding nothing, when the
   * service-wide cap is reached (a device's own replaced wait frees its slot first).
   */
  wait(deviceId: string, ms: number, onAbort: (cancel: () => void) => void): Promise<WaitEnd> | null {
    let set = this.byDevice.get(deviceId);
    // Make room inside this device's own share first: the oldest wait goes (Sets keep insertion order).
    while (set && set.size >= this.maxPerDevice) {
      const oldest = set.values().next().value!;
      this.replaced++;
      oldest('replaced');
      set = this.byDevice.get(deviceId);
    }
    if (this.waiting >= this.maxTotal) {
      this.refused++;
      return null;
    }
    return new Promise((resolve) => {
      if (!set) this.byDevice.set(deviceId, (set = new Set()));
      const mine = set;
      let ended = false;
      const done: Wake = (end) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        if (mine.delete(done)) this.waiting--;
        if (mine.size === 0 && this.byDevice.get(deviceId) === mine) this.byDevice.delete(deviceId);
        resolve(end);
      };
      const timer = setTimeout(() => done('timeout'), ms);
      mine.add(done);
      this.waiting++;
      onAbort(() => done('aborted'));
    });
  }

  notify(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) {
      const set = this.byDevice.get(id);
      if (!set) continue;
      for (const wake of [...set]) wake('changed');
    }
  }

  /** Wakes the waits whose key ends with `suffix` (a sign-in domain alias changed: every person `…@domain`). */
  notifySuffix(suffix: string): void {
    for (const [key, set] of [...this.byDevice]) if (key.endsWith(suffix)) for (const wake of [...set]) wake('changed');
  }

  /** Wakes every waiting request as changed: this replica cannot tell which devices changed. */
  notifyAll(): void {
    for (const set of [...this.byDevice.values()]) for (const wake of [...set]) wake('changed');
  }

  /** Answers every waiting request now (service shutting down). */
  releaseAll(): void {
    for (const set of [...this.byDevice.values()]) for (const wake of [...set]) wake('released');
  }
}
