// Gathers decideUser()'s inputs for each signed-in person from what is on
// disk: the cached user token (agent.db, signature re-verified here on every
// call, like the device's), the person's watermark (user-watermarks.json),
// the same trusted-time records as the device decision, and whether the
// agent is online. Used by the daemon and `status`, so both judge alike.
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { checkSignInName } from '../../shared/sign-in.ts';
import { verifyUserEntitlement } from '../../shared/user-token.ts';
import { pinnedKeys, type StoredIdentity, type UserWatermarks, type Watermark } from '../store/files.ts';
import type { Store } from '../store/store.ts';
import type { Decision } from './decide.ts';
import { decideUser, type UserDecision, type UserEntitlementInput } from './decide-user.ts';
import { clockInput } from './evaluate.ts';

/** The signed-in accounts as the device reports them, normalised and deduplicated; names that are no sign-in name are left out of user licensing. */
export function signInNames(users: readonly string[]): { names: string[]; refused: string[] } {
  const names = new Set<string>();
  const refused: string[] = [];
  for (const u of users) {
    const r = checkSignInName(u);
    if (r.ok) names.add(r.name);
    else refused.push(u);
  }
  return { names: [...names].sort(), refused };
}

async function userInput(user: string, identity: StoredIdentity | null, store: Store): Promise<UserEntitlementInput> {
  const stored = store.getUserEntitlement(user);
  if (!identity || !stored) return { kind: 'none' };
  try {
    const claims = await verifyUserEntitlement(stored.token, {
      keys: pinnedKeys(identity), deviceId: identity.deviceId, issuer: identity.issuer, audience: ENTITLEMENT_AUDIENCE, user,
    });
    return { kind: 'valid', claims };
  } catch (e) {
    return { kind: 'invalid', code: /another device/.test((e as Error).message) ? 'TOKEN_OTHER_DEVICE' : 'TOKEN_INVALID', message: (e as Error).message };
  }
}

export async function evaluateUsers(opts: {
  identity: StoredIdentity | null;
  store: Store;
  device: Decision;
  watermark: Watermark | null;
  userWatermarks: UserWatermarks | null;
  /** Normalised sign-in names (signInNames). */
  users: readonly string[];
  nowMs: number;
  /** Whether the last request about this person reached the service. */
  online: (user: string) => boolean;
}): Promise<UserDecision[]> {
  const { identity, store } = opts;
  const wm = opts.userWatermarks && identity && opts.userWatermarks.deviceId === identity.deviceId ? opts.userWatermarks : null;
  const out: UserDecision[] = [];
  for (const user of opts.users) {
    const entitlement = await userInput(user, identity, store);
    const decision = decideUser({
      user, device: opts.device, enrolled: identity !== null, revoked: identity?.revoked !== undefined, entitlement,
      minSeq: wm?.users[user]?.seq ?? 0, clock: clockInput(store, identity, opts.watermark), nowMs: opts.nowMs, online: opts.online(user),
    });
    // Shown by `status` only: nothing is decided on it (the token binds to `user`).
    if (entitlement.kind === 'valid' && entitlement.claims.person) decision.person = entitlement.claims.person;
    out.push(decision);
  }
  return out;
}
