// Seat allocation for user licences (issue 16): which person holds a seat of
// which user product's subscription, and why not. Pure, like allocate.ts, and
// with the same rules, counted in people instead of devices:
// - a licence reaches every member of an assigned user group (user groups do
//   not nest);
// - a person uses at most one seat per product, however many groups or
//   subscriptions reach them;
// - when seats run out the earliest members keep theirs (membership ord) and
//   the rest get SEATS_EXHAUSTED;
// - expired or suspended subscriptions license nobody.
// People are the members of any user group plus everyone who already has an
// answer (so a person removed from every group gets NOT_IN_LICENSED_GROUP).
import type { EntitlementReason } from '../../shared/schemas/common.ts';
import {
  outranks, subscriptionState, unseatedReason, type AllocSubscription, type DeviceEntitlement, type SubscriptionUsage,
} from './allocate.ts';

export interface UserAllocInput {
  now: number;
  /** Subscriptions of user products only. */
  subscriptions: AllocSubscription[];
  assignments: { subscriptionId: string; groupId: string }[];
  memberships: { groupId: string; user: string; ord: number }[];
  /** People with an answer already (kept even when no group holds them any more). */
  known: string[];
}

export interface UserAllocResult {
  users: Map<string, DeviceEntitlement>;
  /** Per subscription; devicesReached counts people. */
  subscriptions: Map<string, SubscriptionUsage>;
}

export function allocateUserSeats(input: UserAllocInput): UserAllocResult {
  const users = new Map<string, DeviceEntitlement>();
  const none = (): DeviceEntitlement => ({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null });
  for (const u of input.known) users.set(u, none());
  for (const m of input.memberships) if (!users.has(m.user)) users.set(m.user, none());

  const membersOf = new Map<string, { user: string; ord: number }[]>();
  for (const m of input.memberships) {
    let l = membersOf.get(m.groupId);
    if (!l) membersOf.set(m.groupId, (l = []));
    l.push({ user: m.user, ord: m.ord });
  }
  const groupsOf = new Map<string, string[]>();
  for (const a of input.assignments) {
    let l = groupsOf.get(a.subscriptionId);
    if (!l) groupsOf.set(a.subscriptionId, (l = []));
    l.push(a.groupId);
  }
  /** product -> people holding a seat of it */
  const held = new Map<string, Set<string>>();
  const usage = new Map<string, SubscriptionUsage>();
  const unlicensed = (u: string, reason: EntitlementReason, sub: AllocSubscription, group: string) => {
    const cur = users.get(u)!;
    if (cur.status === 'licensed' || !outranks(reason, cur.reason)) return;
    users.set(u, { status: 'unlicensed', reason, product: sub.productSku, subscription: sub.id, group });
  };

  /** Per active subscription: the people it reached and could not seat. */
  const noSeat = new Map<AllocSubscription, string[]>();

  for (const sub of [...input.subscriptions].sort((a, b) => a.ord - b.ord)) {
    // Each person once, at their earliest membership among this subscription's groups.
    const reach = new Map<string, { ord: number; group: string }>();
    for (const g of groupsOf.get(sub.id) ?? []) {
      for (const m of membersOf.get(g) ?? []) {
        const cur = reach.get(m.user);
        if (!cur || m.ord < cur.ord) reach.set(m.user, { ord: m.ord, group: g });
      }
    }
    const use: SubscriptionUsage = { seatsUsed: 0, seatsExhausted: 0, devicesReached: reach.size };
    usage.set(sub.id, use);
    const state = subscriptionState(sub, input.now);
    const ordered = [...reach].sort((a, b) => a[1].ord - b[1].ord);
    if (state !== 'active') {
      for (const [u, r] of ordered) unlicensed(u, unseatedReason(state), sub, r.group);
      continue;
    }
    let holders = held.get(sub.productSku);
    if (!holders) held.set(sub.productSku, (holders = new Set()));
    for (const [u, r] of ordered) {
      if (holders.has(u)) continue;
      if (use.seatsUsed < sub.seats) {
        use.seatsUsed++;
        holders.add(u);
        if (users.get(u)!.status !== 'licensed') users.set(u, { status: 'licensed', reason: 'ASSIGNED', product: sub.productSku, subscription: sub.id, group: r.group });
      } else {
        let l = noSeat.get(sub);
        if (!l) noSeat.set(sub, (l = []));
        l.push(u);
        unlicensed(u, 'SEATS_EXHAUSTED', sub, r.group);
      }
    }
  }
  // As for devices: someone a later subscription of the same product seated is not left without a seat.
  for (const [sub, people] of noSeat) usage.get(sub.id)!.seatsExhausted = people.filter((u) => !held.get(sub.productSku)!.has(u)).length;
  return { users, subscriptions: usage };
}
