// The daemon's one long-poll loop on the entitlement endpoint. Each round asks
// the service to hold the request until the entitlement changes (ETag +
// ?wait=), so an assignment reaches the device in about a second. Failures
// back off with the shared full-jitter Backoff, honouring Retry-After; a
// service that answers "unchanged" without holding is not hammered either.
// `wake()` cuts a wait or an idle long-poll short for an immediate sync.
// What to do when is decided by the pure state machine in poll-machine.ts;
// this file only carries it out (requests, timers, waiters).
import { Backoff } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/log.ts';
import type { SyncOutcome } from './sync.ts';
import { initialPollState, next, type PollConfig, type PollEvent, type PollState } from './poll-machine.ts';
import { holdEventOf, initialHold, learnedOf, nextHold, type HoldConfig, type HoldState, type Learned } from './hold.ts';

export type SyncFn = (o: { waitSeconds: number; conditional: boolean; signal: AbortSignal }) => Promise<SyncOutcome>;

export class Poller {
  readonly name = 'poller';
  private readonly sync: SyncFn;
  private readonly cfg: PollConfig;
  private readonly log: Logger;
  private readonly onOutcome: (o: SyncOutcome) => Promise<void>;
  private readonly setNextSync: (atMs: number | null) => void;
  private state: PollState = initialPollState;
  private running: Promise<void> | null = null;
  private inflight: AbortController | null = null;
  private sleepCancel: (() => void) | null = null;
  private waiters: ((o: SyncOutcome | null) => void)[] = [];
  private readonly holdCfg: HoldConfig;
  private hold: HoldState;
  private readonly onLearned: (l: Learned) => void;

  constructor(opts: {
    sync: SyncFn; waitSeconds: number; log: Logger; backoff?: Backoff;
    onOutcome: (o: SyncOutcome) => Promise<void>; setNextSync: (atMs: number | null) => void;
    /** The longest hold to grow to (adaptive hold, hold.ts); absent or ≤ waitSeconds: fixed at waitSeconds. */
    maxWaitSeconds?: number;
    /** How long holds must end normally in a row before a longer one is tried (hold.ts STABLE_MS). */
    growAfterSeconds?: number;
    /** What was learned about this server's hold before (longpoll-hold.json). */
    learned?: Learned | null;
    /** Called when what was learned changes (to keep it across restarts). */
    onLearned?: (l: Learned) => void;
  }) {
    this.sync = opts.sync;
    const backoff = opts.backoff ?? new Backoff({ baseMs: 1000, maxMs: 5 * 60_000 });
    this.holdCfg = {
      min: opts.waitSeconds, max: opts.maxWaitSeconds ?? opts.waitSeconds,
      ...(opts.growAfterSeconds ? { stableMs: opts.growAfterSeconds * 1000 } : {}),
    };
    this.hold = initialHold(this.holdCfg, opts.learned ?? null);
    this.onLearned = opts.onLearned ?? (() => undefined);
    // waitSeconds is set from the hold before each round (the machine reads it then).
    this.cfg = { waitSeconds: this.hold.current, backoffDelay: (n, retryAfterMs) => backoff.delay(n, retryAfterMs) };
    this.log = opts.log;
    this.onOutcome = opts.onOutcome;
    this.setNextSync = opts.setNextSync;
  }

  /** The longest hold this server's network was seen to keep (for the per-user long-polls). */
  provenHoldSeconds(): number {
    return this.hold.good;
  }

  /** The hold the next long-poll asks for (status, tests). */
  nextHoldSeconds(): number {
    return this.hold.current;
  }

  /** Feeds the hold machine what a round's outcome says about its hold; saves what it learned. */
  private learn(o: SyncOutcome, seconds: number, elapsedMs: number): void {
    const e = holdEventOf(o, seconds, elapsedMs, Date.now());
    if (!e) return;
    const before = this.hold;
    this.hold = nextHold(before, e, this.holdCfg);
    this.cfg.waitSeconds = this.hold.current;
    if (this.hold.good !== before.good || this.hold.ceiling !== before.ceiling) {
      // A few times per server (each longer hold, each cut): worth an info line.
      this.log.info({ holdSeconds: this.hold.current, goodSeconds: this.hold.good, ceilingSeconds: this.hold.ceiling, after: e.type }, 'long-poll hold adjusted');
      try {
        this.onLearned(learnedOf(this.hold));
      } catch (err) {
        this.log.warn({ err }, 'could not keep the learned long-poll hold');
      }
    }
  }

  /** Feeds the machine one event and carries out its side effects; returns the step. */
  private step(e: PollEvent) {
    const s = next(this.state, e, this.cfg);
    this.state = s.state;
    if (s.abort) this.inflight?.abort();
    if (s.cutSleep) this.sleepCancel?.();
    return s;
  }

  // A getter, not a field read: TypeScript would keep a narrowing across the awaits.
  private get stopped(): boolean {
    return this.state.phase === 'stopped';
  }

  start(): void {
    if (!this.running) this.running = this.loop();
  }

  /** Stops after the current step; an in-flight request is aborted. */
  async stop(): Promise<void> {
    this.step({ type: 'stop' });
    await this.running;
    for (const w of this.waiters.splice(0)) w(null);
  }

  /**
   * Syncs as soon as possible and resolves with that sync's outcome (null if
   * the loop stops first). A held long-poll is cut short; a backoff sleep is
   * NOT, unless `force` (an admin's `refresh`, a sign-in): those are rare.
   */
  wake(opts: { unconditional?: boolean; force?: boolean } = {}): Promise<SyncOutcome | null> {
    // Registering the waiter after the step is safe: aborting a request or
    // cutting a sleep short only settles promises, the loop runs on later.
    if (this.step({ type: 'wake', unconditional: !!opts.unconditional, force: !!opts.force }).refused) return Promise.resolve(null);
    return new Promise<SyncOutcome | null>((resolve) => this.waiters.push(resolve));
  }

  /** Revoked device: no more requests until resume(). */
  pause(): void {
    this.step({ type: 'pause' });
    this.setNextSync(null);
  }

  resume(): void {
    this.step({ type: 'resume' });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const round = this.step({ type: 'begin' });
      if (round.state.phase === 'paused') {
        for (const w of this.waiters.splice(0)) w(null);
        await this.sleep(Infinity);
        this.step({ type: 'slept' });
        continue;
      }
      const req = round.state.request!;
      const ac = new AbortController();
      this.inflight = ac;
      const started = Date.now();
      // While a long-poll is held the next answer comes at the latest when it ends.
      this.setNextSync(started + req.waitSeconds * 1000);
      let outcome: SyncOutcome;
      try {
        outcome = await this.sync({ waitSeconds: req.waitSeconds, conditional: req.conditional, signal: ac.signal });
      } catch (e) {
        this.inflight = null;
        if ((e as Error).name === 'AbortError') { // woken: go round at once
          this.step({ type: 'aborted' });
          continue;
        }
        outcome = { ok: false, error: e as Error, revoked: false, rejected: false };
        this.log.error({ err: e }, 'sync step failed');
      }
      this.inflight = null;
      this.learn(outcome, req.waitSeconds, Date.now() - started);
      this.step({ type: 'answered' });
      const waiters = this.waiters.splice(0);
      try {
        await this.onOutcome(outcome);
      } catch (e) {
        this.log.error({ err: e }, 'handling the sync result failed');
      }
      for (const w of waiters) w(outcome);
      if (this.stopped) break;
      const after = this.step({
        type: 'handled', ok: outcome.ok, changed: outcome.ok && outcome.changed, revoked: !outcome.ok && outcome.revoked,
        retryAfterMs: outcome.ok ? undefined : outcome.retryAfterMs, elapsedMs: Date.now() - started,
      });
      if (!outcome.ok && outcome.revoked) {
        this.setNextSync(null);
        continue;
      }
      if (after.retryMs !== undefined) this.log.info({ delayMs: after.retryMs, failures: after.state.failures }, 'retrying sync after a pause');
      if (after.delay > 0) {
        this.setNextSync(Number.isFinite(after.delay) ? Date.now() + after.delay : null);
        await this.sleep(after.delay);
        this.step({ type: 'slept' });
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = Number.isFinite(ms) ? setTimeout(done, ms) : null;
      const self = this;
      function done() {
        if (t) clearTimeout(t);
        self.sleepCancel = null;
        resolve();
      }
      this.sleepCancel = done;
    });
  }
}
