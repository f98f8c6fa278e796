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
import { answerSeq, SignInDomains } from '../../shared/sign-in-domains.ts';
import { loadSignInDomains } from './sign-in-domains.ts';

export class UserEntitlementIssuer {
  private readonly store: Store;
  private readonly key: SigningKey;
  private readonly policy: TokenPolicy;

  constructor(store: Store, key: SigningKey, policy: TokenPolicy) {
    this.store = store;
    this.key = key;
    this.policy = policy;
  }

  /** The table to resolve asked names with: one small read per request. */
  domains(): Promise<SignInDomains> {
    return loadSignInDomains(this.store);
  }

  /** The seq the device would be answered with for the name it asked about (answerSeq; 1: never licensed, no alias ever). */
  async currentSeq(asked: string, domains: SignInDomains): Promise<number> {
    return answerSeq(domains.generation(asked), (await this.store.userGroups.entitlement(domains.person(asked)))?.seq ?? 1);
  }

  /** `asked`: the normalised name the device asked about. */
  async issue(deviceId: string, asked: string, domains: SignInDomains, nowSeconds: number): Promise<UserEntitlementResponse> {
    const user = asked;
    const person = domains.person(asked);
    const r = await this.store.userGroups.entitlement(person);
    const row = r
      ? { seq: r.seq, status: r.status, reason: r.reason as EntitlementReason, product_sku: r.product_sku, product_name: r.product_name,
        subscription_id: r.subscription_id, group_id: r.group_id, term_end: r.term_end, token: null, token_iat: null }
      : { seq: 1, status: 'unlicensed' as const, reason: 'NOT_IN_LICENSED_GROUP' as const, product_sku: null, product_name: null,
        subscription_id: null, group_id: null, term_end: null, token: null, token_iat: null };
    const seq = answerSeq(domains.generation(asked), row.seq);
    // `person` only when it differs: agents older than it refuse a claim they do not know, and they could not match such a person before either.
    const other = person !== user ? { person } : {};
    const claims = { ...buildClaims(deviceId, row, seq, nowSeconds, this.policy), user, ...other };
    return { user, ...other, token: await signUserEntitlement(this.key, claims), seq };
  }
}
