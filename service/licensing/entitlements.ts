// Issues the signed entitlement token for one device from its current row in
// device_entitlements. Tokens are signed lazily (on the first request after a
// change) so that a change reaching 100,000 devices does not sign 100,000
// tokens inside the admin's transaction; an old token is re-signed with a
// higher seq so the agent's offline window keeps moving forward. A stored
// token signed by an older key (before a rotation) is likewise re-signed with
// the active key on its device's next request: that is how agents meet the
// new key, and why a retired key's tokens are never served.
import type { Store } from '../store/store.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import type { EntitlementReason } from '../../shared/schemas/common.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import type { IssuableRow } from '../store/queries/entitlements.ts';
import { entitlementHeader, type SigningKey } from '../../shared/token.ts';
import { inThreadSigner, type EntitlementSigner } from '../signing/pool.ts';

export interface TokenPolicy {
  issuer: string;
  offlineValiditySeconds: number;
  warnBeforeExpirySeconds: number;
  refreshAfterSeconds: number;
  reissueAfterSeconds: number;
}

export interface EntitlementRow {
  seq: number; status: 'licensed' | 'unlicensed'; reason: EntitlementReason; product_sku: string | null; product_name: string | null;
  subscription_id: string | null; group_id: string | null; term_end: string | null; token: string | null; token_iat: number | null;
}

/** Pure: the claims for a device's entitlement at time `nowSeconds`. */
export function buildClaims(deviceId: string, row: EntitlementRow, seq: number, nowSeconds: number, policy: TokenPolicy): EntitlementClaims {
  let exp = nowSeconds + policy.offlineValiditySeconds;
  // Offline validity never outlives the subscription's term.
  if (row.status === 'licensed' && row.term_end) exp = Math.min(exp, Math.floor(Date.parse(row.term_end) / 1000));
  const warnAt = Math.max(nowSeconds, exp - policy.warnBeforeExpirySeconds);
  return {
    iss: policy.issuer, sub: deviceId, aud: ENTITLEMENT_AUDIENCE, iat: nowSeconds, nbf: nowSeconds - 300, exp, seq,
    status: row.status, reason: row.reason, product: row.product_sku, productName: row.product_name,
    subscription: row.subscription_id, group: row.group_id, warnAt, refreshAfter: nowSeconds + policy.refreshAfterSeconds,
  };
}

/**
 * Gathers the per-device reads asked for in one event-loop turn into one
 * call of `many` (one query on PostgreSQL): when one change wakes thousands
 * of long-polls, each asks for its own row at nearly the same moment.
 */
class ReadBatcher<V> {
  private queued = new Map<string, { resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[]>();
  private readonly many: (ids: string[]) => Promise<Map<string, V>>;
  constructor(many: (ids: string[]) => Promise<Map<string, V>>) {
    this.many = many;
  }

  get(id: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      if (this.queued.size === 0) setImmediate(() => this.flush());
      let list = this.queued.get(id);
      if (!list) this.queued.set(id, (list = []));
      list.push({ resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.queued;
    this.queued = new Map();
    this.many([...batch.keys()]).then((rows) => {
      for (const [id, list] of batch) for (const w of list) w.resolve(rows.get(id));
    }, (e) => {
      for (const list of batch.values()) for (const w of list) w.reject(e);
    });
  }
}

interface Pending { deviceId: string; row: IssuableRow; nowSeconds: number; resolve: (v: Issued | null) => void; reject: (e: unknown) => void; attempt: number }
export interface Issued { token: string; seq: number }
/** Requests signed and stored together: the first answers go out while the signing threads do the rest. */
const SIGN_CHUNK = 500;

/**
 * Hands out each device's current token. Signing requests that arrive
 * together (one assign wakes thousands of long-polls at once) are signed in
 * batches of SIGN_CHUNK, each stored by one statement: one disk sync per
 * batch instead of one per device, which is what keeps propagation to a large
 * group under a second.
 */
export class EntitlementIssuer {
  private readonly store: Store;
  private readonly key: SigningKey;
  private readonly policy: TokenPolicy;
  private pending: Pending[] = [];
  /** seq and signing time of each device's stored token: the 304 path reads no database. */
  private readonly signedSeq = new Map<string, { seq: number; iat: number }>();
  /** How every token signed by the active key begins. */
  private readonly activePrefix: string;
  private readonly signer: EntitlementSigner;
  private readonly issuableReads: ReadBatcher<IssuableRow>;
  private readonly signedSeqReads: ReadBatcher<{ seq: number; token_iat: number; active: number }>;

  constructor(store: Store, key: SigningKey, policy: TokenPolicy, signer: EntitlementSigner = inThreadSigner) {
    this.store = store;
    this.issuableReads = new ReadBatcher((ids) => store.entitlements.issuableMany(ids));
    this.signedSeqReads = new ReadBatcher((ids) => store.entitlements.signedSeqMany(ids, this.activePrefix));
    this.key = key;
    this.signer = signer;
    this.activePrefix = `${entitlementHeader(key.kid)}.`;
    this.policy = policy;
  }

  /** The token policy, for the user-entitlement issuer (same lifetimes). */
  policyOf(): TokenPolicy {
    return this.policy;
  }

  /** Must be called (synchronously, after commit) with every device whose entitlement row changed, or 'all'. */
  invalidate(deviceIds: Iterable<string> | 'all'): void {
    if (deviceIds === 'all') this.signedSeq.clear();
    else for (const id of deviceIds) this.signedSeq.delete(id);
  }

  /** The current seq without signing anything: the cheap path behind ETag checks. */
  async currentSeq(deviceId: string, nowSeconds: number): Promise<number | null> {
    const known = this.cachedSeq(deviceId, nowSeconds);
    if (known !== undefined) return known;
    const row = await this.signedSeqReads.get(deviceId);
    // Signed by an older key: no ETag match, so the next answer is a token from the active key.
    if (!row || !row.active) return null;
    this.signedSeq.set(deviceId, { seq: row.seq, iat: row.token_iat });
    return nowSeconds - row.token_iat >= this.policy.reissueAfterSeconds ? null : row.seq;
  }

  /** currentSeq()'s answer when it is cached (no read, no promise: the 304 path), else undefined. */
  cachedSeq(deviceId: string, nowSeconds: number): number | null | undefined {
    const cached = this.signedSeq.get(deviceId);
    if (!cached) return undefined;
    return nowSeconds - cached.iat >= this.policy.reissueAfterSeconds ? null : cached.seq;
  }

  private needsSigning(row: IssuableRow, nowSeconds: number): boolean {
    return !row.token || row.token_iat === null || nowSeconds - row.token_iat >= this.policy.reissueAfterSeconds
      || !row.token.startsWith(this.activePrefix);
  }

  /** The device's current token, signing a new one when needed. */
  async current(deviceId: string, nowSeconds: number, attempt = 0): Promise<Issued | null> {
    const row = await this.issuableReads.get(deviceId);
    if (!row) return null;
    if (!this.needsSigning(row, nowSeconds)) return { token: row.token!, seq: row.seq };
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => { this.flush().catch(() => {}); });
      this.pending.push({ deviceId, row, nowSeconds, resolve, reject, attempt });
    });
  }

  private async flush(): Promise<void> {
    const all = this.pending;
    this.pending = [];
    await Promise.all(Array.from({ length: Math.ceil(all.length / SIGN_CHUNK) }, (_, i) => this.flushBatch(all.slice(i * SIGN_CHUNK, (i + 1) * SIGN_CHUNK))));
  }

  private async flushBatch(batch: Pending[]): Promise<void> {
    const signed = new Map<string, { token: string; seq: number; prevSeq: number; prevIat: number | null; iat: number }>();
    try {
      const claims: EntitlementClaims[] = [];
      for (const p of batch) {
        if (signed.has(p.deviceId)) continue;
        // The row read when the request came in: if it changed since, the
        // conditional UPDATE below stores nothing and the request looks again. Not re-reading it here halves the SQL per device when
        // one change wakes thousands of long-polls.
        const row = p.row;
        // A re-sign of an existing token takes a new seq: newer answers always carry a higher seq.
        const seq = row.token ? row.seq + 1 : row.seq;
        claims.push(buildClaims(p.deviceId, row, seq, p.nowSeconds, this.policy));
        signed.set(p.deviceId, { token: '', seq, prevSeq: row.seq, prevIat: row.token_iat, iat: p.nowSeconds });
      }
      // In worker threads (service/signing/): the event loop keeps serving meanwhile. Same order as `signed`.
      const tokens = await this.signer.signBatch(this.key, claims);
      let i = 0;
      for (const t of signed.values()) t.token = tokens[i++];
      // Stores only over the exact row state that was signed (seq and signing
      // time): a row recomputed, re-signed or first signed by another batch
      // meanwhile is left alone, so one seq never gets two different tokens.
      // One statement for the batch on either backend, atomic on its own: no
      // transaction (on PostgreSQL, no BEGIN and COMMIT round trips), and not
      // serialised with admin changes: the store is conditional on each row's exact signed state.
      const rows = [...signed].map(([deviceId, t]) => ({ deviceId, ...t }));
      const stored = await this.store.entitlements.storeTokens(rows);
      for (const id of stored) { const t = signed.get(id)!; this.signedSeq.set(id, { seq: t.seq, iat: t.iat }); }
      for (const p of batch) {
        const t = signed.get(p.deviceId);
        if (t && stored.has(p.deviceId)) p.resolve({ token: t.token, seq: t.seq });
        else if (p.attempt >= 5) p.reject(new Error(`could not issue a stable entitlement for ${p.deviceId}`));
        // Not signed here (already current) or the row changed while signing: look again.
        else this.current(p.deviceId, p.nowSeconds, p.attempt + 1).then(p.resolve, p.reject);
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
