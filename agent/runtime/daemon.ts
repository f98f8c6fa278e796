// `devlic-agent run`: the long-running agent. Wires the parts together in the
// order data flows: identity -> client -> sync (long-poll) -> store ->
// decide -> apply -> enforcers, plus sign-in watching, periodic jobs, the
// local control socket and graceful shutdown.
import type { Server } from 'node:net';
import type { Logger } from '../../shared/log.ts';
import type { AgentConfig } from '../config.ts';
import { agentPaths, type AgentPaths } from '../config.ts';
import { JumpDetector, type Clock } from '../decision/clock.ts';
import { ensurePrivateDir } from '../host/fsutil.ts';
import type { Store } from '../store/store.ts';
import { fileId, openStoreRecovering } from '../store/recover.ts';
import { damageCode } from '../store/db.ts';
import { readIdentity, readWatermark, type StoredIdentity } from '../store/files.ts';
import { createEnforcers } from '../enforce/registry.ts';
import { Applier, enforcerContext, type DriftCause, type DriftRepair } from '../enforce/apply.ts';
import { evaluate, type Evaluation } from '../decision/evaluate.ts';
import type { HttpClient } from '../sync/client.ts';
import type { DeviceApi } from '../sync/device-api.ts';
import { connect } from '../sync/connect.ts';
import { syncOnce, type SyncOutcome } from '../sync/sync.ts';
import { Poller } from '../sync/poll.ts';
import { SessionWatcher, systemUsersSource, utmpSource, type SessionChange, type SessionSource } from '../host/sessions.ts';
import { Scheduler } from './scheduler.ts';
import { Lifecycle } from './lifecycle.ts';
import { startControlServer, type ControlRequest } from './control.ts';
import { buildStatusReport, enforcementHealth } from '../report/report.ts';
import { osVersionSourceFromEnv, rememberedOsVersion } from '../host/os-version.ts';
import { isSyncOutcome, syncCause, type Cause } from '../decision/cause.ts';
import { UserSync } from '../sync/user-sync.ts';
import { evaluateUsers, signInNames } from '../decision/evaluate-users.ts';
import { machineMode, type UserDecision } from '../decision/decide-user.ts';
import { readUserWatermarks } from '../store/files.ts';

export interface DaemonOptions {
  cfg: AgentConfig;
  clock: Clock;
  log: Logger;
  sessionSource?: SessionSource;
}

/** How often a running agent that is not enrolled says so again. */
const NOT_ENROLLED_WARN_EVERY_MS = 3_600_000;

export class Daemon {
  private readonly cfg: AgentConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly paths: AgentPaths;
  private readonly sessionSource?: SessionSource;
  private store!: Store;
  private applier!: Applier;
  private watcher!: SessionWatcher;
  private scheduler!: Scheduler;
  private control: Server | null = null;
  private identity: StoredIdentity | null = null;
  private http: HttpClient | null = null;
  private api: DeviceApi | null = null;
  private poller: Poller | null = null;
  /** One user-licence long-poll per signed-in person (issue 16); null when not connected. */
  private userSync: UserSync | null = null;
  private last: Evaluation | null = null;
  /** Each signed-in person's last decision, and its key, to report a change at once. */
  private lastUsers: UserDecision[] = [];
  private lastUsersKey = '[]';
  private statusDirty = true;
  private readonly jumps = new JumpDetector();
  /** The sync asked for after a clock jump; decisions wait for it (bounded). */
  private jumpSync: Promise<unknown> | null = null;
  /** agent.db as opened: a file deleted or replaced under the running agent is noticed. */
  private dbFileId: string | null = null;
  private databaseLost = false;
  private notEnrolledWarnedAt = -Infinity;
  private readonly parts: Lifecycle;
  /** Asked on the first status report, then remembered (os-version.ts). */
  private readonly osVersion: () => Promise<string | undefined>;
  private stopping = false;
  private exitWith: (code: number) => void = () => {};
  /** Resolves with an exit code when the daemon has to stop by itself. */
  readonly exited = new Promise<number>((resolve) => { this.exitWith = resolve; });

  constructor(opts: DaemonOptions) {
    this.cfg = opts.cfg;
    this.clock = opts.clock;
    this.log = opts.log;
    this.paths = agentPaths(opts.cfg.dataDir);
    this.sessionSource = opts.sessionSource;
    this.parts = new Lifecycle(opts.log);
    this.osVersion = rememberedOsVersion(osVersionSourceFromEnv(), (e) => this.log.warn({ err: (e as Error).message }, 'OS version unreadable; reported without it'));
  }

  async start(): Promise<void> {
    ensurePrivateDir(this.paths.dataDir);
    // A damaged cache is rebuilt here, before anything is applied: the first
    // decision below then has no token and is read-only until the re-sync.
    this.store = openStoreRecovering(this.paths, this.clock.now(), this.log).store;
    this.dbFileId = fileId(this.paths.db);
    const enforcers = createEnforcers(this.cfg.apps, enforcerContext(this.paths.dataDir, this.log));
    this.applier = new Applier(enforcers, this.store, this.clock, this.log);
    const source = this.sessionSource ?? (process.platform === 'linux' ? utmpSource(this.cfg.utmpPath) : systemUsersSource());
    this.watcher = new SessionWatcher({
      source, watchPath: process.platform === 'linux' ? this.cfg.utmpPath : undefined, pollMs: this.cfg.sessionPollSeconds * 1000,
      store: this.store, clock: this.clock, log: this.log, onChange: (c) => void this.onSessions(c),
    });
    this.scheduler = new Scheduler([
      { name: 'refresh', schedule: this.cfg.refreshSchedule, jitterMs: 30_000, run: () => this.safetyNet() },
      { name: 'status', schedule: this.cfg.statusSchedule, jitterMs: 30_000, run: () => this.sendStatus() },
      { name: 'expiry', schedule: this.cfg.expirySchedule, run: async () => { await this.reevaluate('expiry-check'); } },
      { name: 'prune', schedule: this.cfg.pruneSchedule, run: async () => this.prune() },
      { name: 'verify', schedule: this.cfg.verifySchedule, run: async () => { await this.verifyDrift('schedule'); } },
    ], this.log);
    // Started in this order, stopped in reverse (runtime/lifecycle.ts).
    await this.parts.start([
      {
        name: 'control',
        start: async () => {
          this.control = await startControlServer(this.paths.socket, (req) => this.onControl(req), this.log);
          // The socket is also what keeps a second agent off this data dir: only now is this the agent.
          this.store.addEvent(this.clock.now(), 'agent-start', null, { pid: process.pid, enforcers: enforcers.map((e) => e.name) });
        },
        stop: () => new Promise<void>((resolve) => (this.control ? this.control.close(() => resolve()) : resolve())),
      },
      this.watcher,
      // The first decision, on what is on disk, before any periodic work or sync.
      { name: 'identity', start: async () => { await this.loadIdentity(); await this.reevaluate('start', true); }, stop: () => {} },
      this.scheduler,
      // Delegates to the poll loop of the current identity (reload replaces it).
      { name: 'poller', start: () => this.poller?.start(), stop: () => this.poller?.stop() },
    ]);
    this.log.info({ dataDir: this.paths.dataDir, enrolled: this.identity !== null, deviceId: this.identity?.deviceId }, 'agent started');
    this.warnIfNotEnrolled();
  }

  /**
   * An agent that is not enrolled can only keep the apps read-only; said at
   * warn level (at start, then at most once an hour from the safety net) so
   * that it is not mistaken for an agent that is merely idle.
   */
  private warnIfNotEnrolled(): void {
    if (this.identity) return;
    const now = performance.now();
    if (now - this.notEnrolledWarnedAt < NOT_ENROLLED_WARN_EVERY_MS) return;
    this.notEnrolledWarnedAt = now;
    this.log.warn({ dataDir: this.paths.dataDir, reason: 'NOT_ENROLLED' },
      `this device is not enrolled, so the apps stay read-only; enroll it with 'devlic-agent enroll --server URL --token T' (a running agent picks it up at once)`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.userSync?.stop();
    await this.parts.stop();
    await this.applier?.idle();
    await this.http?.close().catch(() => undefined);
    try {
      this.store.addEvent(this.clock.now(), 'agent-stop', null, { pid: process.pid });
    } catch (e) {
      if (!damageCode(e)) throw e;
    }
    this.store.close();
    this.log.info('agent stopped');
  }

  /** (Re)reads identity.json and (re)builds the client and poll loop to match. */
  private async loadIdentity(): Promise<void> {
    let identity: StoredIdentity | null = null;
    try {
      identity = readIdentity(this.paths.identity);
    } catch (e) {
      this.log.error({ err: e }, 'identity unreadable; acting as not enrolled');
      this.store.addEvent(this.clock.now(), 'error', 'IDENTITY_UNREADABLE', { error: (e as Error).message });
    }
    await this.poller?.stop();
    this.userSync?.stop();
    this.userSync = null;
    await this.http?.close().catch(() => undefined);
    this.poller = null;
    this.http = null;
    this.api = null;
    this.identity = identity;
    if (!identity || identity.revoked) return;
    try {
      ({ http: this.http, api: this.api } = connect(this.cfg, identity, this.paths.deviceKey, this.clock));
    } catch (e) {
      this.log.error({ err: e }, 'cannot set up the connection to the service');
      this.store.addEvent(this.clock.now(), 'error', 'CLIENT_SETUP_FAILED', { error: (e as Error).message });
      return;
    }
    const ctx = { paths: this.paths, identity, store: this.store, api: this.api, clock: this.clock, log: this.log };
    this.userSync = new UserSync({
      api: this.api, identity, store: this.store, paths: this.paths, clock: this.clock, log: this.log, waitSeconds: this.cfg.waitSeconds,
      onChange: () => { if (!this.stopping) void this.reevaluate('user-licence'); },
    });
    this.userSync.setUsers(signInNames(this.watcher.users).names);
    this.poller = new Poller({
      waitSeconds: this.cfg.waitSeconds, log: this.log,
      sync: (o) => syncOnce(ctx, o),
      onOutcome: (o) => this.onSync(o),
      setNextSync: (at) => this.store.setNextSync(at),
    });
  }

  /**
   * The database was deleted, replaced or found damaged under the running
   * agent. Rebuilding it in place would mean re-wiring every part that holds
   * the store, so the daemon exits with 1 instead, leaving the apps as they
   * are: the service manager (systemd Restart=always, launchd KeepAlive, the
   * Windows service's restart actions) starts it again, and start-up rebuilds
   * the database and re-syncs.
   */
  private loseDatabase(code: string, why: string): void {
    if (this.databaseLost) return;
    this.databaseLost = true;
    this.log.error({ reason: code }, `${why}; exiting so that the service manager restarts the agent, which rebuilds the database and re-syncs`);
    this.exitWith(1);
  }

  private checkDatabaseFile(): void {
    const id = fileId(this.paths.db);
    if (id === this.dbFileId) return;
    if (id === null) this.loseDatabase('DB_MISSING', `the agent database ${this.paths.db} was deleted while the agent ran`);
    else this.loseDatabase('DB_REPLACED', `the agent database ${this.paths.db} was replaced while the agent ran`);
  }

  /** Decides from what is on disk now and applies it for the signed-in users. */
  private async reevaluate(cause: Cause, force = false): Promise<Evaluation> {
    this.checkDatabaseFile();
    // Nothing more is decided on a database that is gone: the restart will.
    if (this.databaseLost && this.last) return this.last;
    try {
      return await this.decideAndApply(cause, force);
    } catch (e) {
      const code = damageCode(e);
      if (!code) throw e;
      this.loseDatabase(code, `the agent database is damaged (${(e as Error).message})`);
      if (this.last) return this.last;
      throw e;
    }
  }

  private async decideAndApply(cause: Cause, force: boolean): Promise<Evaluation> {
    const jump = this.jumps.observe(this.clock.now(), performance.now());
    if (jump !== null) this.onClockJump(jump);
    // Judged on the jumped clock before the service re-anchors it, a valid
    // token could look expired (forward) or the clock untrusted (back): a flip
    // for nothing while online. The sync's own outcome is decided at once.
    if (this.jumpSync && !isSyncOutcome(cause)) await this.jumpSync;
    // Every decision raises the observed mark (written at most once a minute,
    // and at once when the token is judged expired): see observed-time.ts.
    const ev = await evaluate({
      identity: this.identity, store: this.store, watermark: readWatermark(this.paths.watermark), nowMs: () => this.clock.now(), record: true,
    });
    // Per-user licences (issue 16): each signed-in person decided on top of
    // the device; the per-machine layers get full only when everyone is full.
    const { names, refused } = signInNames(this.watcher.users);
    const users = await evaluateUsers({
      identity: this.identity, store: this.store, device: ev.decision, watermark: readWatermark(this.paths.watermark),
      userWatermarks: readUserWatermarks(this.paths.userWatermarks), users: names, nowMs: this.clock.now(),
      online: (u) => this.userSync?.isOnline(u) ?? false,
    });
    const machine = machineMode(ev.decision, users, refused.length);
    const applied = machine.mode === ev.decision.mode && machine.reason === ev.decision.reason ? ev.decision : { ...ev.decision, ...machine };
    const userModes = users.map((u) => ({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason }));
    // Nobody signed in: no per-user entries at all (the files read as before per-user licences).
    const out = await this.applier.apply(applied, this.watcher.users, { force, cause, ...(userModes.length ? { userModes } : {}) });
    this.last = { ...ev, decision: applied };
    this.lastUsers = users;
    const usersKey = JSON.stringify(userModes);
    const usersChanged = usersKey !== this.lastUsersKey;
    if (usersChanged) {
      this.lastUsersKey = usersKey;
      for (const u of users) this.log.info({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason, firstSignIn: u.firstSignIn }, 'user mode');
    }
    // Logged when it starts, and again at each start while it lasts (a restart does not hide it).
    if (ev.decision.reason === 'CLOCK_UNTRUSTED' && (out.changed || cause === 'start')) {
      this.store.addEvent(this.clock.now(), 'clock-back', 'CLOCK_UNTRUSTED', { detail: ev.decision.detail ?? null, cause });
      this.log.warn({ detail: ev.decision.detail }, 'clock turned back: read-only until the next successful sync');
    }
    // Tell the service at once when the mode or the people using the device change.
    if (out.changed || usersChanged || cause === 'sign-in' || cause === 'sign-out') void this.sendStatus();
    else this.reportIfHealthChanged();
    return ev;
  }

  private onClockJump(jumpMs: number): void {
    const jumpSeconds = Math.round(jumpMs / 1000);
    this.store.addEvent(this.clock.now(), 'clock-jump', jumpMs > 0 ? 'FORWARD' : 'BACK', { jumpSeconds, online: this.poller !== null });
    this.log.warn({ jumpSeconds }, `the local clock jumped ${jumpMs > 0 ? 'forward' : 'back'} by ${Math.abs(jumpSeconds)} s; checking the service's time before deciding`);
    if (!this.poller || this.jumpSync) return;
    // Offline (the last sync failed) the service cannot vouch for the time
    // either: ask it, but decide at once on the moved clock, as the offline
    // rules say, instead of holding every decision for a request that fails.
    if (this.store.getSyncState().lastOk === false) {
      void this.poller.wake({ force: true });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise((r) => { timer = setTimeout(r, this.cfg.requestTimeoutSeconds * 1000 + 5000); });
    this.jumpSync = Promise.race([this.poller.wake({ force: true }), limit]).finally(() => {
      clearTimeout(timer);
      this.jumpSync = null;
    });
  }

  /**
   * The drift check (enforce/apply.ts verify). Skipped until the first
   * decision is applied and while the database is gone (the restart redoes
   * everything).
   */
  private async verifyDrift(cause: DriftCause): Promise<DriftRepair[]> {
    if (!this.last || this.databaseLost || this.stopping) return [];
    let repairs: DriftRepair[];
    try {
      repairs = await this.applier.verify(cause);
    } catch (e) {
      const code = damageCode(e);
      if (!code) throw e;
      this.loseDatabase(code, `the agent database is damaged (${(e as Error).message})`);
      return [];
    }
    this.reportIfHealthChanged();
    return repairs;
  }

  /** Whether each enforcer is in force, as last seen here. */
  private seenHealth = '';

  /**
   * A change in enforcement health reaches IT at once, not at the next
   * status report (a report that fails is sent again after the next good sync).
   */
  private reportIfHealthChanged(): void {
    const now = JSON.stringify(enforcementHealth(this.store.getApplied()));
    if (now === this.seenHealth) return;
    this.seenHealth = now;
    void this.sendStatus();
  }

  private async onSync(o: SyncOutcome): Promise<void> {
    await this.reevaluate(syncCause(o));
    if (o.ok && this.statusDirty) void this.sendStatus();
  }

  private async onSessions(c: SessionChange): Promise<void> {
    this.userSync?.setUsers(signInNames(c.users).names);
    await this.reevaluate(c.started.length ? 'sign-in' : 'sign-out');
    // A sign-in is a good moment to check with the service.
    if (c.started.length) void this.poller?.wake({ force: true });
  }

  private async sendStatus(): Promise<void> {
    if (!this.api || !this.identity || this.identity.revoked || !this.last) return;
    const osVersion = await this.osVersion();
    // Asked on the first report only; a reload meanwhile may have changed what is checked above.
    if (!this.api || !this.identity || this.identity.revoked || !this.last) return;
    try {
      await this.api.reportStatus(buildStatusReport(this.store, this.last.decision, this.last.claims, this.lastUsers, osVersion));
      this.statusDirty = false;
    } catch (e) {
      this.statusDirty = true;
      this.log.warn({ err: (e as Error).message }, 'status report not delivered; will retry');
    }
  }

  private async safetyNet(): Promise<void> {
    // An enrollment whose 'reload' message did not reach us (or a restore of
    // identity.json) is picked up here at the latest.
    let onDisk: StoredIdentity | null = null;
    try {
      onDisk = readIdentity(this.paths.identity);
    } catch {
      // Reported when loading; keep what we have.
      onDisk = this.identity;
    }
    if (onDisk?.enrolledAt !== this.identity?.enrolledAt || !!onDisk?.revoked !== !!this.identity?.revoked) {
      await this.reload();
      return;
    }
    if (!this.identity) {
      this.warnIfNotEnrolled();
      return;
    }
    const c = this.last?.claims;
    const now = this.last?.decision.effectiveNowMs ?? this.clock.now();
    await this.poller?.wake({ unconditional: c ? now >= c.refreshAfter * 1000 : true });
  }

  private prune(): void {
    const before = this.clock.now() - this.cfg.logRetentionDays * 86_400_000;
    const events = this.store.pruneEvents(before);
    const sessions = this.store.pruneSessions(before);
    if (events + sessions > 0) this.log.info({ events, sessions }, 'pruned old events and sessions');
  }

  async reload(): Promise<Evaluation> {
    await this.loadIdentity();
    this.store.addEvent(this.clock.now(), 'reload', null, { enrolled: this.identity !== null });
    const ev = await this.reevaluate('reload', true);
    // A reload that comes while the agent stops must not start a new loop.
    if (!this.stopping) this.poller?.start();
    return ev;
  }

  private async onControl(req: ControlRequest): Promise<unknown> {
    if (req.cmd === 'ping') return { ok: true, pid: process.pid };
    if (req.cmd === 'reload') {
      const ev = await this.reload();
      return { ok: true, mode: ev.decision.mode, reason: ev.decision.reason };
    }
    // refresh
    if (!this.identity) return { ok: false, error: "this device is not enrolled; run 'devlic-agent enroll --server URL --token T'" };
    if (this.identity.revoked) return { ok: false, error: "the service no longer accepts this device; re-enroll with 'devlic-agent enroll --server URL --token T'" };
    if (!this.poller) {
      const ev = await this.reevaluate('refresh');
      const drift = await this.verifyDrift('refresh');
      return { ok: false, error: 'no connection to the service is configured (see devlic-agent logs)', mode: ev.decision.mode, reason: ev.decision.reason, drift };
    }
    const o = await this.poller.wake({ unconditional: true, force: true });
    // `refresh` is also how IT asks "is this device really enforced now?".
    const drift = await this.verifyDrift('refresh');
    const d = this.last?.decision;
    return {
      ok: o?.ok ?? false,
      error: o && !o.ok ? o.error.message : o ? null : 'the agent is stopping',
      changed: o?.ok ? o.changed : false,
      mode: d?.mode, reason: d?.reason,
      drift,
      users: this.lastUsers.map((u) => ({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason, ...(u.firstSignIn ? { firstSignIn: u.firstSignIn } : {}) })),
    };
  }
}
