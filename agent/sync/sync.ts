// One synchronisation with the service: ask for the entitlement (optionally
// long-polling), verify what comes back against the pinned keys, and cache it
// if it is newer than what we have. Records the attempt (sync state, trusted
// time, event log) in one transaction. Used by the daemon's poll loop and by
// `devlic-agent refresh` when no daemon runs; both may run at once because the
// "newer seq wins" rule is enforced inside SQLite. A token signed by a key
// not pinned yet (the service rotated its key) first sends the agent to learn
// that key through the service's key chain (keys.ts).
import type { Logger } from '../../shared/log.ts';
import type { Clock } from '../decision/clock.ts';
import type { Store } from '../store/store.ts';
import { pinnedKeys, readIdentity, readWatermark, writeIdentity, writeWatermark, type StoredIdentity } from '../store/files.ts';
import type { AgentPaths } from '../config.ts';
import { checkToken } from '../decision/evaluate.ts';
import { isRevocation, type DeviceApi } from './device-api.ts';
import { ServiceError } from './client.ts';
import { CLOCK_TOLERANCE_MS } from '../decision/decide.ts';
import { followMerge, isMergeAnswer } from './merged.ts';
import { tokenKid } from '../../shared/token.ts';
import { learnKey } from './keys.ts';

export interface SyncContext {
  paths: AgentPaths;
  identity: StoredIdentity;
  store: Store;
  api: DeviceApi;
  clock: Clock;
  log: Logger;
}

export type SyncOutcome =
  | { ok: true; status: 200 | 304; changed: boolean; seq: number | null }
  | { ok: false; error: Error; revoked: boolean; rejected: boolean; retryAfterMs?: number };

export async function syncOnce(ctx: SyncContext, opts: { waitSeconds?: number; conditional?: boolean; signal?: AbortSignal; followedMerge?: boolean } = {}): Promise<SyncOutcome> {
  const { store, identity, clock } = ctx;
  const stored = store.getEntitlement();
  // Only a cached token that still verifies may be kept by a 304: otherwise a
  // damaged cache would be "unchanged" forever.
  const wm = readWatermark(ctx.paths.watermark);
  const minSeq = wm && wm.deviceId === identity.deviceId ? wm.seq : 0;
  const current = stored ? await checkToken(stored.token, identity) : { kind: 'none' as const };
  const usable = current.kind === 'valid' && current.claims.seq >= minSeq;
  const etag = opts.conditional !== false && usable ? store.getSyncState().etag : null;

  let answer;
  try {
    answer = await ctx.api.entitlement({ etag, waitSeconds: opts.waitSeconds, signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    // Merged into another id by an admin: move to it (signed notice) and ask again at once, once.
    if (isMergeAnswer(e) && !opts.followedMerge && await followMerge(ctx, e)) {
      return syncOnce(ctx, { signal: opts.signal, conditional: false, followedMerge: true });
    }
    return failed(ctx, e as Error);
  }
  const now = clock.now();
  noteClockBack(ctx, now);

  if (answer.status === 304) {
    // Nothing new to keep: what this records, the next answer records again (no fsync, store.ts txRelaxed).
    store.txRelaxed(() => {
      // The service vouches for the time: the sync point and the observed mark restart here.
      if (answer.serverDateMs !== undefined) {
        store.recordTrustedTime(answer.serverDateMs, now);
        store.anchorObservedTime(now);
      }
      store.recordSync({ at: now, ok: true, error: null });
      store.addEvent(now, 'sync', 'UNCHANGED', { status: 304 });
    });
    return { ok: true, status: 304, changed: false, seq: usable ? current.claims.seq : null };
  }

  const kid = tokenKid(answer.token);
  if (kid !== null && !pinnedKeys(identity).has(kid)) {
    try {
      await learnKey({ ...ctx, http: ctx.api.http }, kid);
    } catch (e) {
      return failed(ctx, e as Error);
    }
  }
  const checked = await checkToken(answer.token, identity);
  if (checked.kind !== 'valid' || checked.claims.seq !== answer.seq) {
    const reason = checked.kind === 'invalid' ? checked.code : 'TOKEN_INVALID';
    const message = checked.kind === 'invalid' ? checked.message : `seq ${answer.seq} in the answer does not match the token`;
    return rejected(ctx, now, reason, message, answer.seq);
  }
  const claims = checked.claims;
  if (claims.seq < minSeq) {
    return rejected(ctx, now, 'TOKEN_REPLAYED', `seq ${claims.seq} is older than accepted seq ${minSeq}`, claims.seq);
  }

  const row = { deviceId: identity.deviceId, seq: claims.seq, token: answer.token, receivedAt: now };
  const serverMs = answer.serverDateMs ?? claims.iat * 1000;
  const changed = store.tx(() => {
    const cur = store.getEntitlement();
    let ok: boolean;
    if (!cur) ok = store.putEntitlement(row);
    else if (stored && cur.token === stored.token && !usable) ok = store.replaceEntitlement(stored.token, row);
    else ok = store.putEntitlement(row);
    store.recordTrustedTime(Math.max(serverMs, claims.iat * 1000), now);
    store.anchorObservedTime(now);
    store.recordSync({ at: now, ok: true, error: null, etag: answer.etag });
    store.addEvent(now, 'sync', ok ? 'UPDATED' : 'NOT_NEWER', { status: 200, seq: claims.seq, entitlement: claims.status, reason: claims.reason });
    return ok;
  });
  // After the database commit: a crash in between leaves the watermark lower
  // than the cache, which is harmless (the reverse would refuse a good token).
  if (changed && claims.seq > minSeq) {
    writeWatermark(ctx.paths.watermark, { deviceId: identity.deviceId, seq: claims.seq, iatMs: Math.max(wm?.iatMs ?? 0, claims.iat * 1000) });
  }
  if (changed) ctx.log.info({ seq: claims.seq, status: claims.status, reason: claims.reason }, 'entitlement updated');
  return { ok: true, status: 200, changed, seq: claims.seq };
}

function rejected(ctx: SyncContext, now: number, reason: string, message: string, seq: number): SyncOutcome {
  ctx.log.warn({ reason, seq }, `entitlement from the service refused: ${message}`);
  ctx.store.tx(() => {
    ctx.store.recordSync({ at: now, ok: false, error: `token refused: ${message}` });
    ctx.store.addEvent(now, 'token-rejected', reason, { seq, message });
  });
  return { ok: false, error: new Error(message), revoked: false, rejected: true };
}

function failed(ctx: SyncContext, e: Error): SyncOutcome {
  const now = ctx.clock.now();
  if (isRevocation(e)) {
    markRevoked(ctx, e, now);
    return { ok: false, error: e, revoked: true, rejected: false };
  }
  const retryAfterMs = e instanceof ServiceError ? e.retryAfterMs : undefined;
  const code = e instanceof ServiceError ? e.code : 'ERROR';
  ctx.store.tx(() => {
    ctx.store.recordSync({ at: now, ok: false, error: e.message });
    ctx.store.addEvent(now, 'sync', code, { error: e.message });
  });
  ctx.log.warn({ code }, `sync failed: ${e.message}`);
  return { ok: false, error: e, revoked: false, rejected: false, retryAfterMs };
}

/**
 * The service no longer accepts this device (401 after a clock-corrected
 * retry, or 403). Recorded in identity.json; syncing stops until an admin's
 * new token is used with `devlic-agent enroll`.
 */
function markRevoked(ctx: SyncContext, e: ServiceError, now: number): void {
  const onDisk = readIdentity(ctx.paths.identity);
  // Only the enrollment this sync used: an `enroll` may have just replaced it
  // (same device id, new key), and the new one must not be marked.
  if (onDisk && onDisk.deviceId === ctx.identity.deviceId && onDisk.enrolledAt === ctx.identity.enrolledAt && !onDisk.revoked) {
    const revoked = { at: new Date(now).toISOString(), httpStatus: e.status ?? 0, code: e.code, message: e.message };
    writeIdentity(ctx.paths.identity, { ...onDisk, revoked });
    ctx.identity.revoked = revoked;
  }
  ctx.store.tx(() => {
    ctx.store.recordSync({ at: now, ok: false, error: `device not accepted by the service: ${e.message}` });
    ctx.store.addEvent(now, 'revoked', e.code, { httpStatus: e.status, message: e.message });
  });
  ctx.log.error({ code: e.code, httpStatus: e.status }, "the service no longer accepts this device; syncing stops until it is re-enrolled with 'devlic-agent enroll'");
}

/** Logs a clock found behind the last sync or the observed mark, which this sync is about to re-anchor. */
function noteClockBack(ctx: SyncContext, now: number): void {
  const t = ctx.store.getTrustedTime();
  const latest = Math.max(t?.syncLocalMs ?? -Infinity, ctx.store.getObservedTime()?.localMs ?? -Infinity);
  if (now < latest - CLOCK_TOLERANCE_MS) {
    const behindS = Math.round((latest - now) / 1000);
    ctx.store.addEvent(now, 'clock-back', 'CLOCK_UNTRUSTED', { behindSeconds: behindS, resolvedBy: 'sync' });
    ctx.log.warn({ behindSeconds: behindS }, 'the local clock is behind the latest time this device recorded; re-anchored on the service time');
  }
}
