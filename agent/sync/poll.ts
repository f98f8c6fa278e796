// The daemon's one long-poll loop on the entitlement endpoint. Each round asks
// the service to hold the request until the entitlement changes (ETag +
// ?wait=), so an assignment reaches the device in about a second. Failures
// back off with the shared full-jitter Backoff, honouring Retry-After; a
// service that answers "unchanged" without holding is not hammered either.
// `wake()` cuts a wait or an idle long-poll short for an immediate sync.
import { Backoff } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/log.ts';
import type { SyncOutcome } from './sync.ts';

export type SyncFn = (o: { waitSeconds: number; conditional: boolean; signal: AbortSignal }) => Promise<SyncOutcome>;

/** A request that returned sooner than this without news did not long-poll. */
const QUICK_MS = 1000;

export class Poller {
  private readonly sync: SyncFn;
  private readonly waitSeconds: number;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly onOutcome: (o: SyncOutcome) => Promise<void>;
  private readonly setNextSync: (atMs: number | null) => void;
  private stopped = false;
  private paused = false;
  private running: Promise<void> | null = null;
  private inflight: AbortController | null = null;
  private inflightImmediate = false;
  private sleepCancel: (() => void) | null = null;
  private want: { immediate: boolean; unconditional: boolean; force: boolean } | null = null;
  private waiters: ((o: SyncOutcome | null) => void)[] = [];

  constructor(opts: {
    sync: SyncFn; waitSeconds: number; log: Logger; backoff?: Backoff;
    onOutcome: (o: SyncOutcome) => Promise<void>; setNextSync: (atMs: number | null) => void;
  }) {
    this.sync = opts.sync;
    this.waitSeconds = opts.waitSeconds;
    this.backoff = opts.backoff ?? new Backoff({ baseMs: 1000, maxMs: 5 * 60_000 });
    this.log = opts.log;
    this.onOutcome = opts.onOutcome;
    this.setNextSync = opts.setNextSync;
  }

  start(): void {
    if (!this.running) this.running = this.loop();
  }

  /** Stops after the current step; an in-flight request is aborted. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.inflight?.abort();
    this.sleepCancel?.();
    await this.running;
    for (const w of this.waiters.splice(0)) w(null);
  }

  /**
   * Syncs as soon as possible and resolves with that sync's outcome (null if
   * the loop stops first). A held long-poll is cut short; a backoff sleep is
   * NOT, unless `force` (an admin's `refresh`, a sign-in): those are rare.
   */
  wake(opts: { unconditional?: boolean; force?: boolean } = {}): Promise<SyncOutcome | null> {
    if (this.stopped || this.paused) return Promise.resolve(null);
    this.want = {
      immediate: true,
      unconditional: (this.want?.unconditional ?? false) || !!opts.unconditional,
      force: (this.want?.force ?? false) || !!opts.force,
    };
    const p = new Promise<SyncOutcome | null>((resolve) => this.waiters.push(resolve));
    if (this.inflight && !this.inflightImmediate) this.inflight.abort();
    if (this.sleepCancel && (opts.force || this.backoff.failures === 0)) this.sleepCancel();
    return p;
  }

  /** Revoked device: no more requests until resume(). */
  pause(): void {
    this.paused = true;
    this.setNextSync(null);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.backoff.reset();
    this.sleepCancel?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.paused) {
        for (const w of this.waiters.splice(0)) w(null);
        await this.sleep(Infinity);
        continue;
      }
      const want = this.want;
      this.want = null;
      const immediate = want?.immediate ?? false;
      const wait = immediate ? 0 : this.waitSeconds;
      const ac = new AbortController();
      this.inflight = ac;
      this.inflightImmediate = immediate;
      const started = Date.now();
      // While a long-poll is held the next answer comes at the latest when it ends.
      this.setNextSync(started + wait * 1000);
      let outcome: SyncOutcome;
      try {
        outcome = await this.sync({ waitSeconds: wait, conditional: !(want?.unconditional ?? false), signal: ac.signal });
      } catch (e) {
        this.inflight = null;
        if ((e as Error).name === 'AbortError') continue; // woken: go round at once
        outcome = { ok: false, error: e as Error, revoked: false, rejected: false };
        this.log.error({ err: e }, 'sync step failed');
      }
      this.inflight = null;
      const waiters = this.waiters.splice(0);
      try {
        await this.onOutcome(outcome);
      } catch (e) {
        this.log.error({ err: e }, 'handling the sync result failed');
      }
      for (const w of waiters) w(outcome);
      if (this.stopped) break;
      if (!outcome.ok && outcome.revoked) {
        this.pause();
        continue;
      }
      let delay: number;
      if (!outcome.ok) {
        delay = this.backoff.next(outcome.retryAfterMs);
        this.log.info({ delayMs: delay, failures: this.backoff.failures }, 'retrying sync after a pause');
      } else if (wait > 0 && !outcome.changed && Date.now() - started < QUICK_MS) {
        // The service did not hold the request: do not turn the loop into a busy poll.
        delay = Math.max(QUICK_MS, this.backoff.next());
      } else {
        this.backoff.reset();
        delay = this.waitSeconds === 0 && !this.want ? Infinity : 0;
      }
      // Woken while this request ran or its outcome was handled: the waiter
      // wants a fresh answer now. After a failure only a forced wake skips the
      // pause, as it would have cut the pause short had it come a moment later.
      // (Read through a cast: TypeScript still narrows `want` to the null set above.)
      const woken = this.want as Poller['want'];
      if (woken && (outcome.ok || woken.force)) delay = 0;
      if (delay > 0) {
        this.setNextSync(Number.isFinite(delay) ? Date.now() + delay : null);
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = Number.isFinite(ms) ? setTimeout(done, ms) : null;
      function done() {
        if (t) clearTimeout(t);
        resolve();
      }
      this.sleepCancel = () => {
        this.sleepCancel = null;
        done();
      };
    });
  }
}
