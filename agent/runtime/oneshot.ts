// One sync-decide-apply pass without the daemon, for `refresh` and `enroll`
// when no agent is running: talks to the service directly, caches the answer
// (the "newer seq wins" rule makes this safe even if a daemon starts
// meanwhile), and applies the resulting mode.
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

export interface OneShotResult {
  sync: SyncOutcome | null;
  decision: Decision;
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
    const users = [...new Set(store.openSessions().map((s) => s.user))].sort();
    const applier = new Applier(createEnforcers(cfg.apps, enforcerContext(paths.dataDir, log)), store, clock, log);
    const out = await applier.apply(ev.decision, users, { cause: 'refresh' });
    const drift = await applier.verify('refresh');
    if (api && sync?.ok && (out.changed || drift.length > 0)) {
      await api.reportStatus(buildStatusReport(store, ev.decision, ev.claims)).catch((e) => log.warn({ err: (e as Error).message }, 'status report not delivered'));
    }
    return { sync, decision: ev.decision, drift };
  } finally {
    await http?.close().catch(() => undefined);
    store.close();
  }
}
