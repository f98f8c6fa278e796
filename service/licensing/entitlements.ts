// Issues the signed entitlement token for one device from its current row in
// device_entitlements. Tokens are signed lazily (on the first request after a
// change) so that a change reaching 100,000 devices does not sign 100,000
// tokens inside the admin's transaction; an old token is re-signed with a
// higher seq so the agent's offline window keeps moving forward.
import type { DB } from '../store/db.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import type { EntitlementReason } from '../../shared/schemas/common.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { signEntitlement, type SigningKey } from '../../shared/token.ts';

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

const SELECT = `SELECT e.seq, e.status, e.reason, e.product_sku, p.name AS product_name, e.subscription_id, e.group_id,
  s.term_end, e.token, e.token_iat
  FROM device_entitlements e LEFT JOIN products p ON p.sku = e.product_sku LEFT JOIN subscriptions s ON s.id = e.subscription_id
  WHERE e.device_id = ?`;

export class EntitlementIssuer {
  private readonly db: DB;
  private readonly key: SigningKey;
  private readonly policy: TokenPolicy;
  private readonly select;
  private readonly store;

  constructor(db: DB, key: SigningKey, policy: TokenPolicy) {
    this.db = db;
    this.key = key;
    this.policy = policy;
    this.select = db.prepare(SELECT);
    this.store = db.prepare('UPDATE device_entitlements SET token = ?, token_iat = ?, seq = ? WHERE device_id = ? AND seq = ?');
  }

  /** The current seq without signing anything: the cheap path behind ETag checks. */
  currentSeq(deviceId: string, nowSeconds: number): number | null {
    const row = this.select.get(deviceId) as EntitlementRow | undefined;
    if (!row) return null;
    return this.needsSigning(row, nowSeconds) ? null : row.seq;
  }

  private needsSigning(row: EntitlementRow, nowSeconds: number): boolean {
    return !row.token || row.token_iat === null || nowSeconds - row.token_iat >= this.policy.reissueAfterSeconds;
  }

  /** The device's current token, signing a new one when needed. */
  async current(deviceId: string, nowSeconds: number): Promise<{ token: string; seq: number } | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = this.select.get(deviceId) as EntitlementRow | undefined;
      if (!row) return null;
      if (!this.needsSigning(row, nowSeconds)) return { token: row.token!, seq: row.seq };
      // A re-sign of an existing token takes a new seq: newer answers always carry a higher seq.
      const seq = row.token ? row.seq + 1 : row.seq;
      const token = await signEntitlement(this.key, buildClaims(deviceId, row, seq, nowSeconds, this.policy));
      if (this.store.run(token, nowSeconds, seq, deviceId, row.seq).changes === 1) return { token, seq };
      // The row changed while signing (an admin change or a concurrent request): start again.
    }
    throw new Error(`could not issue a stable entitlement for ${deviceId}`);
  }
}
