// Long-poll waiters: agents holding `?wait=` requests park here, keyed by
// device id, and are woken the moment their device's entitlement changes.

type Wake = (changed: boolean) => void;

export class Waiters {
  private readonly byDevice = new Map<string, Set<Wake>>();
  private waiting = 0;

  get count(): number {
    return this.waiting;
  }

  /** Resolves true when the device's entitlement changed, false on timeout or abort. */
  wait(deviceId: string, ms: number, onAbort: (cancel: () => void) => void): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.byDevice.get(deviceId);
      if (!set) this.byDevice.set(deviceId, (set = new Set()));
      const done: Wake = (changed) => {
        clearTimeout(timer);
        if (set!.delete(done)) this.waiting--;
        if (set!.size === 0 && this.byDevice.get(deviceId) === set) this.byDevice.delete(deviceId);
        resolve(changed);
      };
      const timer = setTimeout(() => done(false), ms);
      set.add(done);
      this.waiting++;
      onAbort(() => done(false));
    });
  }

  notify(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) {
      const set = this.byDevice.get(id);
      if (!set) continue;
      for (const wake of [...set]) wake(true);
    }
  }

  /** Answers every waiting request now (service shutting down). */
  releaseAll(): void {
    for (const set of [...this.byDevice.values()]) for (const wake of [...set]) wake(false);
  }
}
