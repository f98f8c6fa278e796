// Gathers decide()'s inputs from what is on disk: the identity and pinned keys
// (identity.json), the cached token (agent.db, its signature verified here
// whenever the token or the identity differs from the last check), the seq watermark, the trusted-time records and the observed
// mark. Used by the daemon, `status`, `refresh` and `doctor`, so they all
// judge the same way. Writers (daemon, one-shot refresh) pass `record` to
// keep the observed mark up to date with the decisions they take.
import { verifyEntitlement } from '../../shared/token.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import { decide, type Decision, type EntitlementInput, type ClockInput } from './decide.ts';
import { pinnedKeys, type StoredIdentity, type Watermark } from '../store/files.ts';
import { markToRecord } from './observed-time.ts';
import type { Store } from '../store/store.ts';

/**
 * The last check of each identity's token. The running agent decides at
 * least once a minute on the same token (issue 18: idle CPU); the answer for
 * the same bytes under the same identity (pinned keys, device id, issuer) is
 * the same, so only a token or identity that differs from the last one (a
 * sync, a reload, a database edited under the agent) is verified again. Keyed
 * by the identity object, which a reload replaces.
 */
const lastCheck = new WeakMap<StoredIdentity, { token: string; keys: StoredIdentity['keys']; deviceId: string; issuer: string; result: EntitlementInput }>();

/** Verifies a token against the pinned keys and classifies a failure. */
export async function checkToken(token: string, identity: StoredIdentity): Promise<EntitlementInput> {
  const last = lastCheck.get(identity);
  // The keys, device id and issuer are compared too, in case one is changed in place (a key rotation).
  if (last && last.token === token && last.keys === identity.keys && last.deviceId === identity.deviceId && last.issuer === identity.issuer) return last.result;
  const result = await verifyToken(token, identity);
  lastCheck.set(identity, { token, keys: identity.keys, deviceId: identity.deviceId, issuer: identity.issuer, result });
  return result;
}

async function verifyToken(token: string, identity: StoredIdentity): Promise<EntitlementInput> {
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

/** The watermark if it belongs to this enrollment's device. */
function ownWatermark(identity: StoredIdentity | null, wm: Watermark | null): Watermark | null {
  return wm && identity && wm.deviceId === identity.deviceId ? wm : null;
}

/** decide()'s clock input from the trusted-time records, the watermark's iat and the observed mark. */
export function clockInput(store: Store | null, identity: StoredIdentity | null, watermark: Watermark | null): ClockInput {
  const t = store?.getTrustedTime() ?? null;
  const wm = ownWatermark(identity, watermark);
  return {
    highWaterMs: Math.max(t?.highWaterMs ?? 0, wm?.iatMs ?? 0) || null,
    sync: t && t.syncServerMs !== null && t.syncLocalMs !== null ? { serverMs: t.syncServerMs, localMs: t.syncLocalMs } : null,
    observed: store?.getObservedTime() ?? null,
  };
}

export async function evaluate(opts: {
  identity: StoredIdentity | null;
  store: Store | null;
  watermark: Watermark | null;
  /** The local clock; a function is read after the token check, right before deciding. */
  nowMs: number | (() => number);
  user?: string;
  /** Raise the observed mark for this decision (writers only: the daemon and one-shot refresh). */
  record?: boolean;
}): Promise<Evaluation> {
  const { identity, store } = opts;
  const stored = store?.getEntitlement() ?? null;
  let entitlement: EntitlementInput = { kind: 'none' };
  if (identity && stored) entitlement = await checkToken(stored.token, identity);
  // From here to the mark's write nothing awaits: a sync completing in this
  // process cannot re-anchor the mark between the clock reading and the write.
  const nowMs = typeof opts.nowMs === 'function' ? opts.nowMs() : opts.nowMs;
  const clock = clockInput(store, identity, opts.watermark);
  const decision = decide({
    enrolled: identity !== null,
    revoked: identity?.revoked !== undefined,
    entitlement,
    minSeq: ownWatermark(identity, opts.watermark)?.seq ?? 0,
    clock,
    nowMs,
    user: opts.user,
  });
  if (opts.record && store) {
    const mark = markToRecord(clock.observed, nowMs, decision.reason);
    if (mark) store.raiseObservedTime(mark);
  }
  return { decision, entitlement, claims: entitlement.kind === 'valid' ? entitlement.claims : null };
}
