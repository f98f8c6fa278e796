// The running agent's decisions: decide from what is on disk (device token,
// per-user licences, clock records), apply the result through the enforcers,
// check them for drift, and notice a clock that jumps or an agent database
// that is deleted, replaced or damaged under the running agent.
import type { Logger } from '../../shared/log.ts';
import type { AgentConfig, AgentPaths } from '../config.ts';
import { JumpDetector, type Clock } from '../decision/clock.ts';
import type { Store } from '../store/store.ts';
import { fileId } from '../store/recover.ts';
import { damageCode } from '../store/db.ts';
import { readUserWatermarks, readWatermark } from '../store/files.ts';
import type { Applier, DriftCause, DriftRepair } from '../enforce/apply.ts';
import { evaluate, type Evaluation } from '../decision/evaluate.ts';
import { isSyncOutcome, type Cause } from '../decision/cause.ts';
import { evaluateUsers, signInNames } from '../decision/evaluate-users.ts';
import { machineMode, type UserDecision } from '../decision/decide-user.ts';
import type { ServiceLink } from './service-link.ts';
import type { StatusReports } from './status-reports.ts';

export interface DecisionsOptions {
  cfg: AgentConfig;
  paths: AgentPaths;
  clock: Clock;
  log: Logger;
  store: Store;
  applier: Applier;
  link: ServiceLink;
  reports: StatusReports;
  /** Who is signed in now (the session watcher's view). */
  signedIn: () => string[];
  /** The daemon has to stop by itself with this exit code. */
  exit: (code: number) => void;
  stopping: () => boolean;
}

export class Decisions {
  /** The last decision applied; null before the first. */
  last: Evaluation | null = null;
  /** Each signed-in person's last decision, and its key, to report a change at once. */
  lastUsers: UserDecision[] = [];
  private lastUsersKey = '[]';
  private readonly jumps = new JumpDetector();
  /** The sync asked for after a clock jump; decisions wait for it (bounded). */
  private jumpSync: Promise<unknown> | null = null;
  /** agent.db as opened: a file deleted or replaced under the running agent is noticed. */
  private readonly dbFileId: string | null;
  private databaseLost = false;
  private readonly o: DecisionsOptions;

  constructor(o: DecisionsOptions) {
    this.o = o;
    this.dbFileId = fileId(o.paths.db);
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
    this.o.log.error({ reason: code }, `${why}; exiting so that the service manager restarts the agent, which rebuilds the database and re-syncs`);
    this.o.exit(1);
  }

  private checkDatabaseFile(): void {
    const db = this.o.paths.db;
    const id = fileId(db);
    if (id === this.dbFileId) return;
    if (id === null) this.loseDatabase('DB_MISSING', `the agent database ${db} was deleted while the agent ran`);
    else this.loseDatabase('DB_REPLACED', `the agent database ${db} was replaced while the agent ran`);
  }

  /** Decides from what is on disk now and applies it for the signed-in users. */
  async reevaluate(cause: Cause, force = false): Promise<Evaluation> {
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
    const { store, paths, clock, link } = this.o;
    const jump = this.jumps.observe(clock.now(), performance.now());
    if (jump !== null) this.onClockJump(jump);
    // Judged on the jumped clock before the service re-anchors it, a valid
    // token could look expired (forward) or the clock untrusted (back): a flip
    // for nothing while online. The sync's own outcome is decided at once.
    if (this.jumpSync && !isSyncOutcome(cause)) await this.jumpSync;
    // Every decision raises the observed mark (written at most once a minute,
    // and at once when the token is judged expired): see observed-time.ts.
    const ev = await evaluate({
      identity: link.identity, store, watermark: readWatermark(paths.watermark), nowMs: () => clock.now(), record: true,
    });
    // Per-user licences (issue 16): each signed-in person decided on top of
    // the device; the per-machine layers get full only when everyone is full.
    const signedIn = this.o.signedIn();
    const { names, refused } = signInNames(signedIn);
    const users = await evaluateUsers({
      identity: link.identity, store, device: ev.decision, watermark: readWatermark(paths.watermark),
      userWatermarks: readUserWatermarks(paths.userWatermarks), users: names, nowMs: clock.now(),
      online: (u) => link.userSync?.isOnline(u) ?? false,
    });
    const machine = machineMode(ev.decision, users, refused.length);
    const applied = machine.mode === ev.decision.mode && machine.reason === ev.decision.reason ? ev.decision : { ...ev.decision, ...machine };
    const userModes = users.map((u) => ({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason }));
    // Nobody signed in: no per-user entries at all (the files read as before per-user licences).
    const out = await this.o.applier.apply(applied, this.o.signedIn(), { force, cause, ...(userModes.length ? { userModes } : {}) });
    this.last = { ...ev, decision: applied };
    this.lastUsers = users;
    const usersKey = JSON.stringify(userModes);
    const usersChanged = usersKey !== this.lastUsersKey;
    if (usersChanged) {
      this.lastUsersKey = usersKey;
      for (const u of users) this.o.log.info({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason, firstSignIn: u.firstSignIn }, 'user mode');
    }
    // Logged when it starts, and again at each start while it lasts (a restart does not hide it).
    if (ev.decision.reason === 'CLOCK_UNTRUSTED' && (out.changed || cause === 'start')) {
      store.addEvent(clock.now(), 'clock-back', 'CLOCK_UNTRUSTED', { detail: ev.decision.detail ?? null, cause });
      this.o.log.warn({ detail: ev.decision.detail }, 'clock turned back: read-only until the next successful sync');
    }
    // Tell the service at once when the mode or the people using the device change.
    if (out.changed || usersChanged || cause === 'sign-in' || cause === 'sign-out') void this.o.reports.send();
    else this.o.reports.reportIfHealthChanged();
    return ev;
  }

  private onClockJump(jumpMs: number): void {
    const { store, clock, link } = this.o;
    const jumpSeconds = Math.round(jumpMs / 1000);
    store.addEvent(clock.now(), 'clock-jump', jumpMs > 0 ? 'FORWARD' : 'BACK', { jumpSeconds, online: link.poller !== null });
    this.o.log.warn({ jumpSeconds }, `the local clock jumped ${jumpMs > 0 ? 'forward' : 'back'} by ${Math.abs(jumpSeconds)} s; checking the service's time before deciding`);
    const poller = link.poller;
    if (!poller || this.jumpSync) return;
    // Offline (the last sync failed) the service cannot vouch for the time
    // either: ask it, but decide at once on the moved clock, as the offline
    // rules say, instead of holding every decision for a request that fails.
    if (store.getSyncState().lastOk === false) {
      void poller.wake({ force: true });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise((r) => { timer = setTimeout(r, this.o.cfg.requestTimeoutSeconds * 1000 + 5000); });
    this.jumpSync = Promise.race([poller.wake({ force: true }), limit]).finally(() => {
      clearTimeout(timer);
      this.jumpSync = null;
    });
  }

  /**
   * The drift check (enforce/apply.ts verify). Skipped until the first
   * decision is applied and while the database is gone (the restart redoes
   * everything).
   */
  async verifyDrift(cause: DriftCause): Promise<DriftRepair[]> {
    if (!this.last || this.databaseLost || this.o.stopping()) return [];
    let repairs: DriftRepair[];
    try {
      repairs = await this.o.applier.verify(cause);
    } catch (e) {
      const code = damageCode(e);
      if (!code) throw e;
      this.loseDatabase(code, `the agent database is damaged (${(e as Error).message})`);
      return [];
    }
    this.o.reports.reportIfHealthChanged();
    return repairs;
  }
}
