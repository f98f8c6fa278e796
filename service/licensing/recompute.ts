// Recomputes every device's entitlement from the licensing data and writes
// only the differences, bumping each changed device's `seq` so agents can
// tell a newer answer from an older one. Runs inside the caller's transaction.
import type { Aggregates } from '../store/store.ts';
import type { EntitlementWrite } from '../store/queries/entitlements.ts';
import type { DeviceWithEntitlement } from '../store/queries/devices.ts';
import { allocateSeatsByKey, type KeyedAllocInput } from './allocate.ts';

/**
 * The allocation's input, devices by their integer keys: the device rows
 * (each with its current answer, one query) and the membership rows go in
 * as the database returns them, with no id string hashed or copied.
 */
async function loadState(q: Aggregates, now: number): Promise<{ input: KeyedAllocInput; current: DeviceWithEntitlement[] }> {
  const [subscriptions, assignments, edges, memberships, devices] = await Promise.all([
    q.subscriptions.allForAllocation(), q.subscriptions.allAssignments(), q.groups.edges(), q.groups.allMembershipKeys(), q.devices.allWithEntitlement(),
  ]);
  return {
    input: {
      now,
      subscriptions: subscriptions
        .map((r) => ({ id: r.id, productSku: r.product_sku, seats: r.seats, termEnd: r.term_end ? Date.parse(r.term_end) : null, suspended: !!r.suspended, ord: r.ord })),
      assignments: assignments.map((r) => ({ subscriptionId: r.subscription_id, groupId: r.group_id })),
      edges,
      memberships,
      devices,
    },
    current: devices,
  };
}

/**
 * What a recompute did: every device whose row changed, and of those the ones
 * that lost or got a seat; `before` is every device's row as it was (already
 * loaded: a caller asking what it held needs no query of its own).
 */
export interface Recomputed { changed: string[]; lostSeat: string[]; gotSeat: string[]; before: readonly DeviceWithEntitlement[] }

export async function recomputeEntitlements(q: Aggregates, now: number): Promise<string[]> {
  return (await recompute(q, now)).changed;
}

export async function recompute(q: Aggregates, now: number): Promise<Recomputed> {
  const { input, current } = await loadState(q, now);
  const alloc = allocateSeatsByKey(input);
  await q.entitlements.replaceUsage(alloc.subscriptions, alloc.groupsReached);
  const inserts: EntitlementWrite[] = [];
  const updates: EntitlementWrite[] = [];
  const changed: string[] = [];
  const lostSeat: string[] = [];
  const gotSeat: string[] = [];
  // The answers come row by row in the order of `current`: no id is hashed or looked up.
  for (let row = 0; row < current.length; row++) {
    const old = current[row];
    const e = alloc.byRow[row];
    const deviceId = old.id;
    if (old.status === null) {
      inserts.push({ deviceId, status: e.status, reason: e.reason, product: e.product, subscription: e.subscription, group: e.group });
      changed.push(deviceId);
      if (e.status === 'licensed') gotSeat.push(deviceId);
    } else if (old.status !== e.status || old.reason !== e.reason || old.product_sku !== e.product
      || old.subscription_id !== e.subscription || old.group_id !== e.group) {
      updates.push({ deviceId, status: e.status, reason: e.reason, product: e.product, subscription: e.subscription, group: e.group });
      changed.push(deviceId);
      if (old.status === 'licensed' && e.status !== 'licensed') lostSeat.push(deviceId);
      if (old.status !== 'licensed' && e.status === 'licensed') gotSeat.push(deviceId);
    }
  }
  await q.entitlements.applyChanges({ inserts, updates, at: new Date(now).toISOString() });
  return { changed, lostSeat, gotSeat, before: current };
}
