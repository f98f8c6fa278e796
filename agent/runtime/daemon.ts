// `devlic-agent run`: the long-running agent. Builds its parts in the order
// data flows (store -> enforcers -> sign-in watching -> link to the service
// -> decisions -> periodic jobs) and starts them in a fixed order (below:
// control socket, sign-in watcher, first decision, scheduler, poll loop),
// stopped in reverse. The parts: service-link.ts (client and long-polls of
// the identity on disk), decisions.ts (decide, apply, drift, clock jumps,
// database loss), status-reports.ts, jobs.ts (periodic work),
// control-handler.ts (the control socket's commands).
import type { Server } from 'node:net';
import type { Logger } from '../../shared/log.ts';
import type { AgentConfig } from '../config.ts';
import { agentPaths, type AgentPaths } from '../config.ts';
import type { Clock } from '../decision/clock.ts';
import { ensurePrivateDir } from '../host/fsutil.ts';
import type { Store } from '../store/store.ts';
import { openStoreRecovering } from '../store/recover.ts';
import { damageCode } from '../store/db.ts';
import { createEnforcers } from '../enforce/registry.ts';
import { Applier, enforcerContext } from '../enforce/apply.ts';
import type { Evaluation } from '../decision/evaluate.ts';
import type { SyncOutcome } from '../sync/sync.ts';
import { SessionWatcher, platformSessionSource, type SessionChange, type SessionSource } from '../host/sessions.ts';
import { Scheduler } from './scheduler.ts';
import { Lifecycle } from './lifecycle.ts';
import { startControlServer } from './control.ts';
import { osVersionSourceFromEnv, rememberedOsVersion } from '../host/os-version.ts';
import { syncCause } from '../decision/cause.ts';
import { signInNames } from '../decision/evaluate-users.ts';
import { ServiceLink } from './service-link.ts';
import { StatusReports } from './status-reports.ts';
import { Decisions } from './decisions.ts';
import { agentJobs } from './jobs.ts';
import { controlHandler } from './control-handler.ts';

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
  private link!: ServiceLink;
  private reports!: StatusReports;
  private decisions!: Decisions;
  private scheduler!: Scheduler;
  private control: Server | null = null;
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
    const { cfg, clock, log, paths } = this;
    ensurePrivateDir(paths.dataDir);
    // A damaged cache is rebuilt here, before anything is applied: the first
    // decision below then has no token and is read-only until the re-sync.
    const store = (this.store = openStoreRecovering(paths, clock.now(), log).store);
    const enforcers = createEnforcers(cfg.apps, enforcerContext(paths.dataDir, log));
    this.applier = new Applier(enforcers, store, clock, log);
    const source = this.sessionSource ?? platformSessionSource(cfg.utmpPath);
    this.watcher = new SessionWatcher({
      source, watchPath: process.platform === 'linux' ? cfg.utmpPath : undefined, pollMs: cfg.sessionPollSeconds * 1000,
      store, clock, log, onChange: (c) => void this.onSessions(c),
    });
    const signedIn = () => this.watcher.users;
    this.link = new ServiceLink({
      cfg, paths, store, clock, log, signedIn,
      onSync: (o) => this.onSync(o),
      onUserLicence: () => { if (!this.stopping) void this.decisions.reevaluate('user-licence'); },
    });
    this.reports = new StatusReports({ link: this.link, store, log, decided: () => this.decisions, osVersion: this.osVersion });
    this.decisions = new Decisions({
      cfg, paths, clock, log, store, applier: this.applier, link: this.link, reports: this.reports, signedIn,
      exit: (code) => this.exitWith(code), stopping: () => this.stopping,
    });
    this.scheduler = new Scheduler(agentJobs({
      cfg, paths, clock, log, store, link: this.link, decisions: this.decisions, reports: this.reports,
      reload: () => this.reload(), warnIfNotEnrolled: () => this.warnIfNotEnrolled(),
    }), log);
    const onControl = controlHandler({ link: this.link, decisions: this.decisions, reload: () => this.reload() });
    // Started in this order, stopped in reverse (runtime/lifecycle.ts).
    await this.parts.start([
      {
        name: 'control',
        start: async () => {
          this.control = await startControlServer(paths.socket, onControl, log);
          // The socket is also what keeps a second agent off this data dir: only now is this the agent.
          store.addEvent(clock.now(), 'agent-start', null, { pid: process.pid, enforcers: enforcers.map((e) => e.name) });
        },
        stop: () => new Promise<void>((resolve) => (this.control ? this.control.close(() => resolve()) : resolve())),
      },
      this.watcher,
      // The first decision, on what is on disk, before any periodic work or sync.
      { name: 'identity', start: async () => { await this.link.load(); await this.decisions.reevaluate('start', true); }, stop: () => {} },
      this.scheduler,
      // Delegates to the poll loop of the current identity (reload replaces it).
      { name: 'poller', start: () => this.link.poller?.start(), stop: () => this.link.poller?.stop() },
    ]);
    log.info({ dataDir: paths.dataDir, enrolled: this.link.identity !== null, deviceId: this.link.identity?.deviceId }, 'agent started');
    this.warnIfNotEnrolled();
  }

  /**
   * An agent that is not enrolled can only keep the apps read-only; said at
   * warn level (at start, then at most once an hour from the safety net) so
   * that it is not mistaken for an agent that is merely idle.
   */
  private warnIfNotEnrolled(): void {
    if (this.link.identity) return;
    const now = performance.now();
    if (now - this.notEnrolledWarnedAt < NOT_ENROLLED_WARN_EVERY_MS) return;
    this.notEnrolledWarnedAt = now;
    this.log.warn({ dataDir: this.paths.dataDir, reason: 'NOT_ENROLLED' },
      `this device is not enrolled, so the apps stay read-only; enroll it with 'devlic-agent enroll --server URL --token T' (a running agent picks it up at once)`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.link?.userSync?.stop();
    await this.parts.stop();
    await this.applier?.idle();
    await this.link?.http?.close().catch(() => undefined);
    try {
      this.store.addEvent(this.clock.now(), 'agent-stop', null, { pid: process.pid });
    } catch (e) {
      if (!damageCode(e)) throw e;
    }
    this.store.close();
    this.log.info('agent stopped');
  }

  private async onSync(o: SyncOutcome): Promise<void> {
    await this.decisions.reevaluate(syncCause(o));
    this.reports.afterSync(o.ok);
  }

  private async onSessions(c: SessionChange): Promise<void> {
    this.link.userSync?.setUsers(signInNames(c.users).names);
    await this.decisions.reevaluate(c.started.length ? 'sign-in' : 'sign-out');
    // A sign-in is a good moment to check with the service.
    if (c.started.length) void this.link.poller?.wake({ force: true });
  }

  async reload(): Promise<Evaluation> {
    await this.link.load();
    this.store.addEvent(this.clock.now(), 'reload', null, { enrolled: this.link.identity !== null });
    const ev = await this.decisions.reevaluate('reload', true);
    // A reload that comes while the agent stops must not start a new loop.
    if (!this.stopping) this.link.poller?.start();
    return ev;
  }
}
