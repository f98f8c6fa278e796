// Builds the status report the agent sends to the service (mode, users,
// version, last error, cache expiry), from the database and a decision.
import type { StatusReport, ReportedUser, EntitlementClaims } from '../shared/schemas/device.ts';
import type { Decision } from './decide.ts';
import type { Store } from './store/store.ts';
import { AGENT_VERSION } from './version.ts';

export function buildStatusReport(store: Store, decision: Decision, claims: EntitlementClaims | null): StatusReport {
  const byUser = new Map<string, ReportedUser>();
  for (const s of store.openSessions()) {
    if (byUser.has(s.user) || byUser.size >= 256) continue;
    byUser.set(s.user.slice(0, 256), { name: s.user.slice(0, 256), mode: decision.mode, since: new Date(s.startedAt).toISOString() });
  }
  const sync = store.getSyncState();
  return {
    mode: decision.mode,
    reason: decision.reason.slice(0, 64),
    users: [...byUser.values()],
    agentVersion: AGENT_VERSION,
    lastError: sync.lastOk === false && sync.lastError ? sync.lastError.slice(0, 2048) : null,
    cacheExpiresAt: claims ? new Date(claims.exp * 1000).toISOString() : null,
    entitlementSeq: claims ? claims.seq : null,
  };
}
