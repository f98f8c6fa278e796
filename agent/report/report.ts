// Builds the status report the agent sends to the service (mode, users,
// version, OS version, last error, cache expiry, whether each enforcer holds
// the mode), from the database and a decision.
import type { StatusReport, ReportedUser, EntitlementClaims, EnforcerHealth } from '../../shared/schemas/device.ts';
import type { AppliedRow } from '../store/store.ts';
import type { Decision } from '../decision/decide.ts';
import type { Store } from '../store/store.ts';
import { AGENT_VERSION } from '../version.ts';
import { toPlainText } from '../../shared/text.ts';
import { checkSignInName } from '../../shared/sign-in.ts';
import type { UserDecision } from '../decision/decide-user.ts';

/** `osVersion` undefined (not known yet, or unreadable): left out, and the service keeps the one it has. */
export function buildStatusReport(store: Store, decision: Decision, claims: EntitlementClaims | null, people: readonly UserDecision[] = [], osVersion?: string): StatusReport {
  const byUser = new Map<string, ReportedUser>();
  // Each person's own mode (issue 16); `decision` is then the per-machine mode.
  const byName = new Map(people.map((p) => [p.user, p]));
  for (const s of store.openSessions()) {
    // Cleaned to the service's text rule: a user name or error text with control characters would get the whole report refused.
    const name = toPlainText(s.user, 256);
    if (!name || byUser.has(name) || byUser.size >= 256) continue;
    const n = checkSignInName(s.user);
    const p = n.ok ? byName.get(n.name) : undefined;
    // Someone with no sign-in name (no user licence possible) has the machine's mode, which is then the device's.
    byUser.set(name, {
      name, mode: p?.mode ?? decision.mode, licence: p ? p.licence : decision.mode === 'full' ? 'device' : null, since: new Date(s.startedAt).toISOString(),
    });
  }
  const sync = store.getSyncState();
  return {
    mode: decision.mode,
    reason: toPlainText(decision.reason, 64),
    users: [...byUser.values()],
    agentVersion: AGENT_VERSION,
    ...(osVersion ? { osVersion: toPlainText(osVersion, 128) } : {}),
    lastError: sync.lastOk === false && sync.lastError ? toPlainText(sync.lastError, 2048) || null : null,
    cacheExpiresAt: claims ? new Date(claims.exp * 1000).toISOString() : null,
    entitlementSeq: claims ? claims.seq : null,
    enforcement: enforcementHealth(store.getApplied()),
  };
}

/** Each enforcer's last result, cleaned to the service's text rule; the reason is the first line of its error, shortened. */
export function enforcementHealth(applied: readonly Pick<AppliedRow, 'enforcer' | 'ok' | 'error'>[]): EnforcerHealth[] {
  return applied.slice(0, 32).map((a) => {
    const enforcer = toPlainText(a.enforcer, 64) || 'unknown';
    if (a.ok) return { enforcer, ok: true };
    const reason = toPlainText((a.error ?? 'failed').split('\n')[0], 300);
    return { enforcer, ok: false, reason: reason || 'failed' };
  });
}
