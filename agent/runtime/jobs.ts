// The running agent's periodic work, on the schedules of the configuration:
// the safety-net sync, the status report, the expiry re-decision, log
// pruning and the drift check (runtime/scheduler.ts runs them).
import type { Logger } from '../../shared/log.ts';
import type { AgentConfig, AgentPaths } from '../config.ts';
import type { Clock } from '../decision/clock.ts';
import type { Store } from '../store/store.ts';
import { readIdentity, type StoredIdentity } from '../store/files.ts';
import type { Job } from './scheduler.ts';
import type { ServiceLink } from './service-link.ts';
import type { Decisions } from './decisions.ts';
import type { StatusReports } from './status-reports.ts';

export interface JobsOptions {
  cfg: AgentConfig;
  paths: AgentPaths;
  clock: Clock;
  log: Logger;
  store: Store;
  link: ServiceLink;
  decisions: Decisions;
  reports: StatusReports;
  /** Re-reads identity.json and re-applies (the daemon's reload). */
  reload: () => Promise<unknown>;
  /** Says again, at most once an hour, that the device is not enrolled. */
  warnIfNotEnrolled: () => void;
}

export function agentJobs(o: JobsOptions): Job[] {
  const { cfg } = o;
  return [
    { name: 'refresh', schedule: cfg.refreshSchedule, jitterMs: 30_000, run: () => safetyNet(o) },
    { name: 'status', schedule: cfg.statusSchedule, jitterMs: 30_000, run: () => o.reports.send() },
    { name: 'expiry', schedule: cfg.expirySchedule, run: async () => { await o.decisions.reevaluate('expiry-check'); } },
    { name: 'prune', schedule: cfg.pruneSchedule, run: async () => prune(o) },
    { name: 'verify', schedule: cfg.verifySchedule, run: async () => { await o.decisions.verifyDrift('schedule'); } },
  ];
}

async function safetyNet(o: JobsOptions): Promise<void> {
  const { link } = o;
  // An enrollment whose 'reload' message did not reach us (or a restore of
  // identity.json) is picked up here at the latest.
  let onDisk: StoredIdentity | null = null;
  try {
    onDisk = readIdentity(o.paths.identity);
  } catch {
    // Reported when loading; keep what we have.
    onDisk = link.identity;
  }
  if (onDisk?.enrolledAt !== link.identity?.enrolledAt || !!onDisk?.revoked !== !!link.identity?.revoked) {
    await o.reload();
    return;
  }
  if (!link.identity) {
    o.warnIfNotEnrolled();
    return;
  }
  const last = o.decisions.last;
  const c = last?.claims;
  const now = last?.decision.effectiveNowMs ?? o.clock.now();
  await link.poller?.wake({ unconditional: c ? now >= c.refreshAfter * 1000 : true });
}

function prune(o: JobsOptions): void {
  const before = o.clock.now() - o.cfg.logRetentionDays * 86_400_000;
  const events = o.store.pruneEvents(before);
  const sessions = o.store.pruneSessions(before);
  if (events + sessions > 0) o.log.info({ events, sessions }, 'pruned old events and sessions');
}
