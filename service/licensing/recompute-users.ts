// Recomputes every person's user-licence answer (allocate-users.ts) inside
// the caller's transaction and writes only the differences, bumping each
// changed person's seq; also writes the people-counted seat usage of user
// products' subscriptions over the zeros the device recompute leaves there.
// Runs after the device recompute in every admin change and time refresh
// (context.ts), so user and device answers always move together.
// Listed names are resolved through the sign-in domain aliases first
// (shared/sign-in-domains.ts), so `alice@corp` and `alice@corp.example.com`
// are one person while CORP stands for corp.example.com. A row kept under a
// name that is now an alias's spelling is left as it is: nobody reads it
// while the alias exists, and the recompute that removes the alias brings it
// up to date again.
import type { Aggregates } from '../store/store.ts';
import type { UserEntitlementWrite } from '../store/queries/users.ts';
import { allocateUserSeats } from './allocate-users.ts';
import { loadSignInDomains } from './sign-in-domains.ts';

export interface UsersRecomputed { changed: string[]; lostSeat: string[]; gotSeat: string[] }

export async function recomputeUsers(q: Aggregates, now: number): Promise<UsersRecomputed> {
  const [subs, assignments, memberships, current, domains] = await Promise.all([
    q.subscriptions.allForAllocation(), q.userGroups.allAssignments(), q.userGroups.allMemberships(), q.userGroups.allEntitlements(), loadSignInDomains(q),
  ]);
  // Nothing assigned, nobody listed, nobody answered: the common case for a device-only site costs three small reads.
  if (assignments.length === 0 && memberships.length === 0 && current.length === 0) return { changed: [], lostSeat: [], gotSeat: [] };
  const userSkus = new Set((await q.catalogue.list()).filter((p) => p.kind === 'user').map((p) => p.sku));
  const alloc = allocateUserSeats({
    now,
    subscriptions: subs.filter((s) => userSkus.has(s.product_sku))
      .map((r) => ({ id: r.id, productSku: r.product_sku, seats: r.seats, termEnd: r.term_end ? Date.parse(r.term_end) : null, suspended: !!r.suspended, ord: r.ord })),
    assignments: assignments.map((a) => ({ subscriptionId: a.subscription_id, groupId: a.group_id })),
    memberships: memberships.map((m) => ({ groupId: m.group_id, user: domains.person(m.user_name), ord: m.ord })),
    known: current.map((r) => r.user_name).filter((u) => domains.person(u) === u),
  });
  for (const [id, u] of alloc.subscriptions) await q.userGroups.setUsage(id, u.seatsUsed, u.seatsExhausted, u.devicesReached);
  const byUser = new Map(current.map((r) => [r.user_name, r]));
  const inserts: UserEntitlementWrite[] = [];
  const updates: UserEntitlementWrite[] = [];
  const out: UsersRecomputed = { changed: [], lostSeat: [], gotSeat: [] };
  for (const [user, e] of alloc.users) {
    const old = byUser.get(user);
    const w = { user, status: e.status, reason: e.reason, product: e.product, subscription: e.subscription, group: e.group };
    if (!old) {
      // A person never licensed who is still not licensed reads the same as no row at all (seq 1): write only real news.
      if (e.status !== 'licensed' && e.reason === 'NOT_IN_LICENSED_GROUP') continue;
      inserts.push(w);
    } else if (old.status !== e.status || old.reason !== e.reason || old.product_sku !== e.product || old.subscription_id !== e.subscription || old.group_id !== e.group) {
      updates.push(w);
      if (old.status === 'licensed' && e.status !== 'licensed') out.lostSeat.push(user);
    } else continue;
    out.changed.push(user);
    if (e.status === 'licensed' && old?.status !== 'licensed') out.gotSeat.push(user);
  }
  const at = new Date(now).toISOString();
  if (inserts.length) await q.userGroups.insertEntitlements(inserts, at);
  if (updates.length) await q.userGroups.updateEntitlements(updates, at);
  return out;
}
