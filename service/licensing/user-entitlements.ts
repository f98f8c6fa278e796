// Signs the user entitlement for a person signed in on a device (issue 16):
// the person's current answer (user_entitlements, or "never licensed" at
// seq 1 without a row), bound to the asking device (`sub`) and the person
// (`user`). Signed on every request rather than cached as device tokens
// are: a device asks only at sign-in and when a long-poll ends, and one
// Ed25519 signature is cheap next to that request. The person's licence does
// not depend on the device's state (disabled, retired): it is theirs; what
// the device may do at all is the device token's business.
import type { Store } from '../store/store.ts';
import type { UserEntitlementResponse } from '../../shared/schemas/user.ts';
import type { EntitlementReason } from '../../shared/schemas/common.ts';
import type { SigningKey } from '../../shared/token.ts';
import { signUserEntitlement } from '../../shared/user-token.ts';
import { buildClaims, type TokenPolicy } from './entitlements.ts';

export class UserEntitlementIssuer {
  private readonly store: Store;
  private readonly key: SigningKey;
  private readonly policy: TokenPolicy;

  constructor(store: Store, key: SigningKey, policy: TokenPolicy) {
    this.store = store;
    this.key = key;
    this.policy = policy;
  }

  /** The person's current seq (1: never licensed). */
  async currentSeq(user: string): Promise<number> {
    return (await this.store.userGroups.entitlement(user))?.seq ?? 1;
  }

  async issue(deviceId: string, user: string, nowSeconds: number): Promise<UserEntitlementResponse> {
    const r = await this.store.userGroups.entitlement(user);
    const row = r
      ? { seq: r.seq, status: r.status, reason: r.reason as EntitlementReason, product_sku: r.product_sku, product_name: r.product_name,
        subscription_id: r.subscription_id, group_id: r.group_id, term_end: r.term_end, token: null, token_iat: null }
      : { seq: 1, status: 'unlicensed' as const, reason: 'NOT_IN_LICENSED_GROUP' as const, product_sku: null, product_name: null,
        subscription_id: null, group_id: null, term_end: null, token: null, token_iat: null };
    const claims = { ...buildClaims(deviceId, row, row.seq, nowSeconds, this.policy), user };
    return { user, token: await signUserEntitlement(this.key, claims), seq: row.seq };
  }
}
