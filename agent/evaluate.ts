// Gathers decide()'s inputs from what is on disk: the identity and pinned keys
// (identity.json), the cached token (agent.db, signature re-verified here on
// every call), the seq watermark and the trusted-time records. Used by the
// daemon, `status`, `refresh` and `doctor`, so they all judge the same way.
import { verifyEntitlement } from '../shared/token.ts';
import { ENTITLEMENT_AUDIENCE } from '../shared/api.ts';
import type { EntitlementClaims } from '../shared/schemas/device.ts';
import { decide, type Decision, type EntitlementInput, type ClockInput } from './decide.ts';
import { pinnedKeys, type StoredIdentity, type Watermark } from './store/files.ts';
import type { Store } from './store/store.ts';

/** Verifies a token against the pinned keys and classifies a failure. */
export async function checkToken(token: string, identity: StoredIdentity): Promise<EntitlementInput> {
  try {
    const claims = await verifyEntitlement(token, {
      keys: pinnedKeys(identity), deviceId: identity.deviceId, issuer: identity.issuer, audience: ENTITLEMENT_AUDIENCE,
    });
    return { kind: 'valid', claims };
  } catch (e) {
    return { kind: 'invalid', code: tokenSubject(token) !== identity.deviceId && tokenSubject(token) !== null ? 'TOKEN_OTHER_DEVICE' : 'TOKEN_INVALID', message: (e as Error).message };
  }
}

/** The unverified `sub` of a compact JWS, only to label a rejected token. */
function tokenSubject(token: string): string | null {
  try {
    const sub = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))?.sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

export interface Evaluation {
  decision: Decision;
  entitlement: EntitlementInput;
  claims: EntitlementClaims | null;
}

export async function evaluate(opts: {
  identity: StoredIdentity | null;
  store: Store | null;
  watermark: Watermark | null;
  nowMs: number;
  user?: string;
}): Promise<Evaluation> {
  const { identity, store } = opts;
  const stored = store?.getEntitlement() ?? null;
  let entitlement: EntitlementInput = { kind: 'none' };
  if (identity && stored) entitlement = await checkToken(stored.token, identity);
  const t = store?.getTrustedTime() ?? null;
  const wm = opts.watermark && identity && opts.watermark.deviceId === identity.deviceId ? opts.watermark : null;
  const clock: ClockInput = {
    highWaterMs: Math.max(t?.highWaterMs ?? 0, wm?.iatMs ?? 0) || null,
    sync: t && t.syncServerMs !== null && t.syncLocalMs !== null ? { serverMs: t.syncServerMs, localMs: t.syncLocalMs } : null,
  };
  const decision = decide({
    enrolled: identity !== null,
    revoked: identity?.revoked !== undefined,
    entitlement,
    minSeq: wm?.seq ?? 0,
    clock,
    nowMs: opts.nowMs,
    user: opts.user,
  });
  return { decision, entitlement, claims: entitlement.kind === 'valid' ? entitlement.claims : null };
}
