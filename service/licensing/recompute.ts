// Recomputes every device's entitlement from the licensing data and writes
// only the differences, bumping each changed device's `seq` so agents can
// tell a newer answer from an older one. Runs inside the caller's transaction.
import type { Aggregates } from '../store/store.ts';
import type { EntitlementMove } from '../store/queries/entitlements.ts';
import type { DevicesByAnswer } from '../store/queries/devices.ts';
import { allocateSeatsByKey, type DeviceEntitlement } from './allocate.ts';

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
  const alloc = allocateSeatsByKey({
    now,
    subscriptions: subscriptions
      .map((r) => ({ id: r.id, productSku: r.product_sku, seats: r.seats, termEnd: r.term_end ? Date.parse(r.term_end) : null, suspended: !!r.suspended, ord: r.ord })),
    assignments: assignments.map((r) => ({ subscriptionId: r.subscription_id, groupId: r.group_id })),
    edges,
    memberships: [],
    memberGroups,
    deviceGroups: groups, // the groups of devices as read: their keys and flags, no object per device
  });
  await q.entitlements.replaceUsage(alloc.subscriptions, alloc.groupsReached);
  const moves = diff(groups, alloc.answers, alloc.answerOfRow);
  const writes: EntitlementMove[] = moves.map((m) => ({
    from: m.from.status === null ? null : { status: m.from.status, reason: m.from.reason! }, to: m.to, ids: m.ids, rows: m.rows,
  }));
  const out: Recomputed = {
    changed: flatten(moves),
    lostSeat: flatten(moves.filter((m) => m.from.status === 'licensed' && m.to.status !== 'licensed')),
    gotSeat: flatten(moves.filter((m) => m.from.status !== 'licensed' && m.to.status === 'licensed')),
    before: groups, moves,
  };
  await q.entitlements.applyChanges({ moves: writes, at: new Date(now).toISOString() });
  return out;
}

type Move = Recomputed['moves'][number] & { rows: (number | null)[] | null };

/** The moves' ids in one array, in order: copied by the native concat (a loop of 100,000 copies runs interpreted in a service's first recompute). */
function flatten(moves: readonly Move[]): string[] {
  let out: string[] = [];
  for (let i = 0; i < moves.length; i += 1000) out = out.concat(...moves.slice(i, i + 1000).map((m) => m.ids));
  return out;
}

/**
 * The devices whose answer changed, as moves (old answer → new, in the order
 * of the rows; within a group of the read, by new answer in first-seen
 * order). Rows come group after group with an index into `answers` each; a
 * group's devices that all move to one answer move as the group's own arrays
 * (the common case: an assignment reaching whole groups), the others are
 * counted first, then copied into arrays of their final size. Each
 * (old, new) pair is compared once, not once per device.
 */
export function diff(groups: readonly DevicesByAnswer[], answers: readonly DeviceEntitlement[], answerOfRow: Int32Array): Move[] {
  const moves: Move[] = [];
  const A = answers.length;
  const state = new Int8Array(A); // per group: 0 not seen, 1 changed, 2 unchanged
  const count = new Int32Array(A);
  const seen = new Int32Array(A); // the changed answers in first-seen order
  let row = 0;
  for (const g of groups) {
    const len = g.keys.length;
    let nSeen = 0;
    let moved = 0;
    for (let j = 0; j < len; j++) {
      const a = answerOfRow[row + j];
      let st = state[a];
      if (st === 0) {
        st = g.status !== null && same(g, answers[a]) ? 2 : 1;
        state[a] = st;
        if (st === 1) seen[nSeen++] = a;
      }
      if (st === 1) { count[a]++; moved++; }
    }
    if (moved === len && nSeen === 1) {
      moves.push({ from: g, to: answers[seen[0]], ids: g.ids, rows: g.rows });
    } else if (moved > 0) {
      const ids: string[][] = [];
      const rowsOf: (number | null)[][] = [];
      const at = new Int32Array(A); // each changed answer's place in ids / rowsOf
      for (let s = 0; s < nSeen; s++) {
        at[seen[s]] = s;
        ids.push(new Array<string>(count[seen[s]]));
        if (g.rows) rowsOf.push(new Array<number | null>(count[seen[s]]));
        count[seen[s]] = 0; // now the fill position
      }
      for (let j = 0; j < len; j++) {
        const a = answerOfRow[row + j];
        if (state[a] !== 1) continue;
        const s = at[a];
        const k = count[a]++;
        ids[s][k] = g.ids[j];
        if (g.rows) rowsOf[s][k] = g.rows[j];
      }
      for (let s = 0; s < nSeen; s++) moves.push({ from: g, to: answers[seen[s]], ids: ids[s], rows: g.rows ? rowsOf[s] : null });
    }
    for (let s = 0; s < nSeen; s++) count[seen[s]] = 0;
    state.fill(0);
    row += len;
  }
  return moves;
}
