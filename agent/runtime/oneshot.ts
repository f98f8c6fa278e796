// One sync-decide-apply pass without the daemon, for `refresh` and `enroll`
// when no agent is running: talks to the service directly, caches the answer
// (the "newer seq wins" rule makes this safe even if a daemon starts
// meanwhile), and applies the resulting mode. Per person too (issue 16),
// like the daemon: each signed-in person's user licence is asked for once
// (no wait), verified and cached, and decided with decideUser(); the
// per-machine layers get full only when everyone signed in is full.
import type { Logger } from '../../shared/log.ts';
import { agentPaths, type AgentConfig } from '../config.ts';
import type { Clock } from '../decision/clock.ts';
import { ensurePrivateDir } from '../host/fsutil.ts';
import { openStoreRecovering } from '../store/recover.ts';
import { readIdentity, readWatermark } from '../store/files.ts';
import type { HttpClient } from '../sync/client.ts';
import type { DeviceApi } from '../sync/device-api.ts';
import { connect } from '../sync/connect.ts';
import { syncOnce, type SyncOutcome } from '../sync/sync.ts';
import { evaluate } from '../decision/evaluate.ts';
import { Applier, enforcerContext, type DriftRepair } from '../enforce/apply.ts';
import { createEnforcers } from '../enforce/registry.ts';
import { buildStatusReport } from '../report/report.ts';
import type { Decision } from '../decision/decide.ts';
import { AgentError } from '../errors.ts';
import { readUserWatermarks } from '../store/files.ts';
import { acceptUserToken } from '../sync/user-sync.ts';
import { evaluateUsers, signInNames } from '../decision/evaluate-users.ts';
import { machineMode, type UserDecision } from '../decision/decide-user.ts';
import { reconcileSessions, platformSessionSource } from '../host/sessions.ts';

export interface OneShotResult {
  sync: SyncOutcome | null;
  /** The mode applied to the per-machine layers (the device's, or read-only when someone signed in is). */
  decision: Decision;
  /** Each signed-in person's decision. */
  users: UserDecision[];
  /** What the drift check found and applied again. */
  drift: DriftRepair[];
}

export async function syncAndApplyOnce(cfg: AgentConfig, clock: Clock, log: Logger): Promise<OneShotResult> {
  const paths = agentPaths(cfg.dataDir);
  const identity = readIdentity(paths.identity);
  if (!identity) throw new AgentError('this device is not enrolled', "run 'devlic-agent enroll --server URL --token T'");
  ensurePrivateDir(paths.dataDir);
  const store = openStoreRecovering(paths, clock.now(), log).store;
  let http: HttpClient | null = null;
  try {
    let sync: SyncOutcome | null = null;
    let api: DeviceApi | null = null;
    if (!identity.revoked) {
      ({ http, api } = connect(cfg, identity, paths.deviceKey, clock));
      sync = await syncOnce({ paths, identity, store, api, clock, log }, { waitSeconds: 0, conditional: false });
    }
    const ev = await evaluate({ identity, store, watermark: readWatermark(paths.watermark), nowMs: () => clock.now(), record: true });
    // Who is signed in now (no daemon keeps the sessions table current): read once, as the daemon does at start.
    const source = platformSessionSource(cfg.utmpPath);
    const current = await source().catch((e) => { log.warn({ err: (e as Error).message }, 'sign-ins unreadable; using the last known'); return null; });
    if (current) reconcileSessions(store, current, clock.now());
    const users = [...new Set(store.openSessions().map((s) => s.user))].sort();
    const { names, refused } = signInNames(users);
    // Asked only when the device's own sync went through: offline, each person is decided from the cache.
    const reached = new Set<string>();
    if (api && sync?.ok) {
      for (const user of names) {
        try {
          const a = await api.userEntitlement(user);
          await acceptUserToken({ identity, store, paths, clock }, user, a.token);
          reached.add(user);
        } catch (e) {
          log.warn({ user, err: (e as Error).message }, 'user licence not fetched; deciding for this person from the cache');
        }
      }
    }
    const people = await evaluateUsers({
      identity, store, device: ev.decision, watermark: readWatermark(paths.watermark), userWatermarks: readUserWatermarks(paths.userWatermarks),
      users: names, nowMs: clock.now(), online: (u) => reached.has(u),
    });
    const machine = machineMode(ev.decision, people, refused.length);
    const decision = machine.mode === ev.decision.mode && machine.reason === ev.decision.reason ? ev.decision : { ...ev.decision, ...machine };
    const userModes = people.map((u) => ({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason }));
    const applier = new Applier(createEnforcers(cfg.apps, enforcerContext(paths.dataDir, log)), store, clock, log);
    const out = await applier.apply(decision, users, { cause: 'refresh', ...(userModes.length ? { userModes } : {}) });
    const drift = await applier.verify('refresh');
    if (api && sync?.ok && (out.changed || drift.length > 0 || people.length > 0)) {
      await api.reportStatus(buildStatusReport(store, decision, ev.claims, people)).catch((e) => log.warn({ err: (e as Error).message }, 'status report not delivered'));
    }
    return { sync, decision, users: people, drift };
  } finally {
    await http?.close().catch(() => undefined);
    store.close();
  }
}
