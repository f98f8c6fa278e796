// Recomputes every device's entitlement from the licensing data and writes
// only the differences, bumping each changed device's `seq` so agents can
// tell a newer answer from an older one. Runs inside the caller's transaction.
import type { Aggregates } from '../store/store.ts';
import type { EntitlementMove } from '../store/queries/entitlements.ts';
import type { DevicesByAnswer } from '../store/queries/devices.ts';
import { allocateSeatsByKey, type DeviceEntitlement, type KeyedDevice } from './allocate.ts';

/**
 * What a recompute did: every device whose row changed, and of those the ones
 * that lost or got a seat; `before`: the devices by the answer they held
 * (already loaded: a caller asking what they held needs no query of its
 * own); `moves`: the changes, by old answer and new.
 */
export interface Recomputed {
  changed: string[]; lostSeat: string[]; gotSeat: string[];
  before: readonly DevicesByAnswer[];
  moves: readonly { from: DevicesByAnswer; to: DeviceEntitlement; ids: readonly string[] }[];
}

/** The aggregates a recompute reads from: a transaction's may read side by side on a second connection (TxStore.alongside). */
type RecomputeStore = Aggregates & { alongside?: <T>(tables: readonly string[], fn: (q: Aggregates) => Promise<T>) => Promise<T> };

export async function recomputeEntitlements(q: RecomputeStore, now: number): Promise<string[]> {
  return (await recompute(q, now)).changed;
}

function same(old: DevicesByAnswer, e: DeviceEntitlement): boolean {
  return old.status === e.status && old.reason === e.reason && old.product_sku === e.product && old.subscription_id === e.subscription && old.group_id === e.group;
}

export async function recompute(q: RecomputeStore, now: number): Promise<Recomputed> {
  // Devices come grouped by the answer they hold (a few rows for a whole fleet) and memberships grouped by
  // group, their keys as arrays: no row object per device, and ids are strings in an array, never hashed.
  // The memberships (the second largest read) go side by side with the rest where the transaction can
  // (PostgreSQL: a second connection on the same snapshot, another core; bench/README.md, sixth pass).
  const members = q.alongside
    ? q.alongside(['group_members', 'devices'], (side) => side.groups.memberGroups())
    : q.groups.memberGroups();
  const [subscriptions, assignments, edges, memberGroups, groups] = await Promise.all([
    q.subscriptions.allForAllocation(), q.subscriptions.allAssignments(), q.groups.edges(), members, q.devices.allByAnswer(),
  ]);
  const devices: KeyedDevice[] = [];
  for (const g of groups) for (const key of g.keys) devices.push({ key, disabled: g.disabled, retired: g.retired });
  const alloc = allocateSeatsByKey({
    now,
    subscriptions: subscriptions
      .map((r) => ({ id: r.id, productSku: r.product_sku, seats: r.seats, termEnd: r.term_end ? Date.parse(r.term_end) : null, suspended: !!r.suspended, ord: r.ord })),
    assignments: assignments.map((r) => ({ subscriptionId: r.subscription_id, groupId: r.group_id })),
    edges,
    memberships: [],
    memberGroups,
    devices,
  });
  await q.entitlements.replaceUsage(alloc.subscriptions, alloc.groupsReached);

  // The answers come row by row in the order of `devices`, group after group. Equal answers are one shared
  // object, so a group's devices split by new answer with a Map keyed by that object, and each (old, new)
  // pair is compared once, not once per device.
  const moves: Recomputed['moves'][number][] = [];
  const writes: EntitlementMove[] = [];
  const out: Recomputed = { changed: [], lostSeat: [], gotSeat: [], before: groups, moves };
  let row = 0;
  for (const g of groups) {
    const split = new Map<DeviceEntitlement, number[]>();
    let last: DeviceEntitlement | undefined;
    let unchanged = false;
    let at: number[] = [];
    for (let j = 0; j < g.keys.length; j++) {
      const e = alloc.byRow[row++];
      if (e !== last) {
        last = e;
        unchanged = g.status !== null && same(g, e);
        if (!unchanged) {
          let list = split.get(e);
          if (!list) split.set(e, (list = []));
          at = list;
        }
      }
      if (!unchanged) at.push(j);
    }
    for (const [e, js] of split) {
      const ids = js.map((j) => g.ids[j]);
      moves.push({ from: g, to: e, ids });
      writes.push({
        from: g.status === null ? null : { status: g.status, reason: g.reason! }, to: e, ids, rows: g.rows ? js.map((j) => g.rows![j]) : null,
      });
      for (const id of ids) out.changed.push(id);
      if (g.status === 'licensed' && e.status !== 'licensed') for (const id of ids) out.lostSeat.push(id);
      if (g.status !== 'licensed' && e.status === 'licensed') for (const id of ids) out.gotSeat.push(id);
    }
  }
  await q.entitlements.applyChanges({ moves: writes, at: new Date(now).toISOString() });
  return out;
}
