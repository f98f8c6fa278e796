// Seat allocation: who is licensed, by which subscription, and why not.
// A pure function of the licensing data and the time, so that every rule can
// be tested exhaustively without a database:
// - a licence reaches every device in an assigned group and its nested groups;
// - a device uses at most one seat per product;
// - when seats run out, the earliest members keep theirs (membership `ord`)
//   and the rest get SEATS_EXHAUSTED, visible to the admin;
// - expired or suspended subscriptions license nobody;
// - disabled and retired devices hold no seat, so the next in line gets it.
import type { EntitlementReason } from '../../shared/schemas/common.ts';
import { childrenIndex, descendantsAndSelf } from './graph.ts';
import { byOrd } from './by-ord.ts';

export interface AllocSubscription { id: string; productSku: string; seats: number; termEnd: number | null; suspended: boolean; ord: number }
export interface AllocAssignment { subscriptionId: string; groupId: string }
export interface AllocMembership { groupId: string; deviceId: string; ord: number }
export interface AllocDevice { id: string; disabled: boolean; retired?: boolean }
export interface AllocInput {
  now: number;
  subscriptions: AllocSubscription[];
  assignments: AllocAssignment[];
  edges: { parent: string; child: string }[];
  memberships: AllocMembership[];
  devices: AllocDevice[];
}

export interface DeviceEntitlement {
  status: 'licensed' | 'unlicensed';
  reason: EntitlementReason;
  product: string | null;
  subscription: string | null;
  group: string | null;
}

export interface SubscriptionUsage { seatsUsed: number; seatsExhausted: number; devicesReached: number }

export interface AllocResult {
  /** Every device's answer, in the order of input.devices (a repeated id once, where it first appeared). */
  devices: ReadonlyMap<string, DeviceEntitlement>;
  subscriptions: Map<string, SubscriptionUsage>;
  /** devices reached per assigned group (through nesting too). */
  groupsReached: Map<string, number>;
}

// Which unlicensed reason wins when several apply: the most actionable one.
const UNLICENSED_RANK: Partial<Record<EntitlementReason, number>> = {
  SEATS_EXHAUSTED: 3, SUBSCRIPTION_SUSPENDED: 2, SUBSCRIPTION_EXPIRED: 1, NOT_IN_LICENSED_GROUP: 0,
};

export function subscriptionState(s: AllocSubscription, now: number): 'active' | 'expired' | 'suspended' {
  if (s.suspended) return 'suspended';
  if (s.termEnd !== null && s.termEnd <= now) return 'expired';
  return 'active';
}

/** The reason a subscription in this state gives a device (or person) it reached but did not seat. */
export function unseatedReason(state: 'active' | 'expired' | 'suspended'): EntitlementReason {
  return state === 'active' ? 'SEATS_EXHAUSTED' : state === 'expired' ? 'SUBSCRIPTION_EXPIRED' : 'SUBSCRIPTION_SUSPENDED';
}

/** Whether the unlicensed `reason` replaces `current`: of several, the answer shows the most actionable. */
export function outranks(reason: EntitlementReason, current: EntitlementReason): boolean {
  return (UNLICENSED_RANK[reason] ?? 0) > (UNLICENSED_RANK[current] ?? 0);
}

// Devices are integers in here, and the per-device state lives in typed
// arrays indexed by them: at 100,000 devices the Map/Set-keyed version spent
// most of its time hashing id strings (see bench/README.md). A recompute
// passes the database's own integer keys (allocateSeatsByKey), so no device
// id string is hashed at all; allocateSeats interns string ids first. The
// rules and the result are those of the earlier version, which the tests keep
// as a reference (test/service/allocate-reference.ts) and compare on random
// fleets, through both entries.
//
// The keyed entry takes the devices as the recompute reads them (groups of
// keys sharing their flags, no object per device), keeps reasons as small
// codes and gives each row the index of its answer: a service's first
// recompute runs this on cold code, where every per-device object, string
// and closure call of 100,000 costs (bench/README.md, issue 12 seventh pass).

const LICENSED = 1;
const NO_INDEX = -1;

// Reasons as codes (0: none yet, the device's initial reason applies), and each one's rank among unlicensed reasons.
const REASON_CODES: readonly EntitlementReason[] = ['NOT_IN_LICENSED_GROUP', 'NOT_IN_LICENSED_GROUP', 'DEVICE_DISABLED', 'DEVICE_RETIRED', 'ASSIGNED',
  'SEATS_EXHAUSTED', 'SUBSCRIPTION_SUSPENDED', 'SUBSCRIPTION_EXPIRED'];
const R_NOT_IN = 1, R_DISABLED = 2, R_RETIRED = 3, R_ASSIGNED = 4;
const R_BY_STATE = { active: 5, suspended: 6, expired: 7 } as const;
const RANK = Int8Array.from(REASON_CODES, (r) => UNLICENSED_RANK[r] ?? 0);

/** Devices sharing their flags, by integer key (a SQLite rowid, a PostgreSQL identity; keys from 0 up to a few times the fleet index a flat table, others a Map): what a recompute loads (one entry per answer held and flags, its keys an array). */
export interface KeyedDeviceGroup { keys: readonly number[]; disabled: boolean | number; retired?: boolean | number }
export interface KeyedMembership { groupId: string; deviceKey: number; ord: number }
/** A group's memberships as two parallel arrays (what a recompute loads: one row per group, not per membership). */
export interface KeyedMemberGroup { groupId: string; deviceKeys: readonly number[]; ords: readonly number[] }
export interface KeyedAllocInput {
  now: number;
  subscriptions: AllocSubscription[];
  assignments: AllocAssignment[];
  edges: { parent: string; child: string }[];
  memberships: readonly KeyedMembership[];
  /** More memberships, grouped: the same as listing each in `memberships`. */
  memberGroups?: readonly KeyedMemberGroup[];
  /** The devices: their rows are the groups' keys in order, group after group (a repeated key: its first row's index, its last row's flags, as a Map would). */
  deviceGroups: readonly KeyedDeviceGroup[];
}
export interface KeyedAllocResult {
  /** The distinct answers: equal answers are one object (nobody mutates them), so 100,000 devices are a few. */
  answers: readonly DeviceEntitlement[];
  /** For each row of input.deviceGroups, the index of its answer in `answers` (a repeated key: the same at each of its rows). */
  answerOfRow: Int32Array;
  subscriptions: Map<string, SubscriptionUsage>;
  groupsReached: Map<string, number>;
}

/** Integer key → dense index: a flat table while the keys are not too sparse (null: use the Map); no string hashing either way. */
function flatTable(groups: readonly KeyedDeviceGroup[], rows: number): Int32Array | null {
  let max = -1;
  for (const g of groups) {
    const keys = g.keys;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      // only non-negative integers index a table
      if (!(k >= 0 && Number.isInteger(k))) return null;
      if (k > max) max = k;
    }
  }
  return max < 4 * rows + 1024 ? new Int32Array(max + 1).fill(NO_INDEX) : null;
}

function indexOf(table: Int32Array | null, map: Map<number, number>, k: number): number {
  if (table) return k >= 0 && k < table.length ? table[k] : NO_INDEX;
  return map.get(k) ?? NO_INDEX;
}

/** A group's members as dense device indexes with their ords (members of no known device dropped). */
interface MemberChunk { dev: Int32Array; ord: readonly number[] }

export function allocateSeats(input: AllocInput): AllocResult {
  // String ids interned to keys 0..n-1 in order of first appearance: the keyed allocation's dense indexes are these keys.
  const index = new Map<string, number>();
  const ids: string[] = [];
  const deviceGroups: KeyedDeviceGroup[] = input.devices.map((d) => {
    let k = index.get(d.id);
    if (k === undefined) { k = ids.length; index.set(d.id, k); ids.push(d.id); }
    return { keys: [k], disabled: d.disabled, retired: d.retired };
  });
  const memberships: KeyedMembership[] = [];
  for (const m of input.memberships) {
    const k = index.get(m.deviceId);
    if (k !== undefined) memberships.push({ groupId: m.groupId, deviceKey: k, ord: m.ord });
  }
  const r = allocateSeatsByKey({ ...input, deviceGroups, memberships });
  const answers = new Array<DeviceEntitlement>(ids.length);
  deviceGroups.forEach((g, row) => { answers[g.keys[0]] = r.answers[r.answerOfRow[row]]; });
  // A read-only map over the id index built above: a second Map of 100,000 entries cost a fifth of the allocation.
  return { devices: new IndexedAnswers(index, ids, answers), subscriptions: r.subscriptions, groupsReached: r.groupsReached };
}

export function allocateSeatsByKey(input: KeyedAllocInput): KeyedAllocResult {
  const groupsIn = input.deviceGroups;
  let rows = 0;
  for (const g of groupsIn) rows += g.keys.length;
  // Devices: a dense index per key (a repeated key keeps its first index; its last row's flags give its reason).
  const table = flatTable(groupsIn, rows);
  const map = new Map<number, number>();
  const rowIndex = new Int32Array(rows);
  const initialReason = new Uint8Array(rows);
  let n = 0;
  let row = 0;
  for (const g of groupsIn) {
    const code = g.retired ? R_RETIRED : g.disabled ? R_DISABLED : R_NOT_IN;
    const keys = g.keys;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      let i = indexOf(table, map, k);
      if (i === NO_INDEX) {
        i = n++;
        if (table) table[k] = i;
        else map.set(k, i);
      }
      rowIndex[row++] = i;
      initialReason[i] = code;
    }
  }
  // Out of the seat race: disabled or retired in any of its rows (retired is the reason shown when both apply).
  const out = new Uint8Array(n);
  row = 0;
  for (const g of groupsIn) {
    const len = g.keys.length;
    if (g.disabled || g.retired) for (let j = 0; j < len; j++) out[rowIndex[row + j]] = 1;
    row += len;
  }

  // Each device's current answer, as codes: status, reason, and indexes of its product, subscription and group (NO_INDEX: null).
  const subs = [...input.subscriptions].sort((a, b) => a.ord - b.ord);
  const products: string[] = [];
  const productIndex = new Map<string, number>();
  const subProduct = subs.map((s) => {
    let p = productIndex.get(s.productSku);
    if (p === undefined) { p = products.length; productIndex.set(s.productSku, p); products.push(s.productSku); }
    return p;
  });
  const groupNames: string[] = [];
  const groupIndex = new Map<string, number>();
  const groupOf = (g: string) => {
    let k = groupIndex.get(g);
    if (k === undefined) { k = groupNames.length; groupIndex.set(g, k); groupNames.push(g); }
    return k;
  };
  const status = new Uint8Array(n);
  const reason = new Uint8Array(n); // 0: still initialReason
  const product = new Int32Array(n).fill(NO_INDEX);
  const subOf = new Int32Array(n).fill(NO_INDEX);
  const groupAt = new Int32Array(n).fill(NO_INDEX);
  const P = products.length;
  const seated = new Uint8Array(n * P); // device × product: holds a seat of it

  // Memberships per group as chunks of device indexes (members of no known device dropped here, once), in the order given.
  const membersByGroup = new Map<string, MemberChunk[]>();
  const addChunk = (groupId: string, chunk: MemberChunk) => {
    const list = membersByGroup.get(groupId);
    if (list) list.push(chunk);
    else membersByGroup.set(groupId, [chunk]);
  };
  const flat = new Map<string, { dev: number[]; ord: number[] }>();
  for (const m of input.memberships) {
    const i = indexOf(table, map, m.deviceKey);
    if (i === NO_INDEX) continue;
    let list = flat.get(m.groupId);
    if (!list) flat.set(m.groupId, (list = { dev: [], ord: [] }));
    list.dev.push(i);
    list.ord.push(m.ord);
  }
  for (const [groupId, list] of flat) addChunk(groupId, { dev: Int32Array.from(list.dev), ord: list.ord });
  for (const g of input.memberGroups ?? []) {
    const keys = g.deviceKeys;
    const dev = new Int32Array(keys.length);
    let kept = 0;
    for (let j = 0; j < keys.length; j++) {
      const i = indexOf(table, map, keys[j]);
      if (i !== NO_INDEX) dev[kept++] = i;
    }
    if (kept === keys.length) { addChunk(g.groupId, { dev, ord: g.ords }); continue; }
    const ord: number[] = []; // a plain array like the ords as read: one element kind in the loop below
    for (let j = 0; j < keys.length; j++) if (indexOf(table, map, keys[j]) !== NO_INDEX) ord.push(g.ords[j]);
    addChunk(g.groupId, { dev: dev.subarray(0, kept), ord });
  }

  const assignmentsBySub = new Map<string, string[]>();
  for (const a of input.assignments) {
    let list = assignmentsBySub.get(a.subscriptionId);
    if (!list) assignmentsBySub.set(a.subscriptionId, (list = []));
    list.push(a.groupId);
  }

  const children = childrenIndex(input.edges);
  const usage = new Map<string, SubscriptionUsage>();
  const groupsReached = new Map<string, number>();
  // Per subscription, the enabled devices it reached but had no seat for.
  const leftWithoutSeat: Int32Array[] = [];

  // Per-subscription scratch, reused: a device is a candidate of subscription k when candStamp[i] === k + 1.
  const candStamp = new Int32Array(n);
  const candOrd = new Float64Array(n);
  const candGroup = new Int32Array(n);
  const candAt = new Int32Array(n); // its place in first-reached order: breaks ties in ord
  const seenStamp = new Int32Array(n);
  const candidates = new Int32Array(n);
  const noSeat = new Int32Array(n);
  let seenRound = 0;

  for (let k = 0; k < subs.length; k++) {
    const sub = subs[k];
    const use: SubscriptionUsage = { seatsUsed: 0, seatsExhausted: 0, devicesReached: 0 };
    usage.set(sub.id, use);
    const stamp = k + 1;
    const p = subProduct[k];
    // Candidates in first-reached order: ties in ord keep it.
    let c = 0;
    for (const groupId of (assignmentsBySub.get(sub.id) ?? []).sort()) {
      const gi = groupOf(groupId);
      let reached = 0;
      seenRound++;
      for (const g of descendantsAndSelf(groupId, input.edges, children)) {
        for (const { dev, ord } of membersByGroup.get(g) ?? []) {
          for (let j = 0; j < dev.length; j++) {
            const i = dev[j];
            if (seenStamp[i] !== seenRound) { seenStamp[i] = seenRound; reached++; }
            if (candStamp[i] !== stamp) {
              candStamp[i] = stamp; candOrd[i] = ord[j]; candGroup[i] = gi; candAt[i] = c; candidates[c++] = i;
            } else if (ord[j] < candOrd[i]) {
              candOrd[i] = ord[j]; candGroup[i] = gi;
            }
          }
        }
      }
      groupsReached.set(groupId, reached);
    }
    use.devicesReached = c;
    const order = byOrd(candidates.subarray(0, c), candOrd, candAt);
    const state = subscriptionState(sub, input.now);
    const lost = R_BY_STATE[state];
    let left = 0;
    for (let j = 0; j < c; j++) {
      const i = order[j];
      if (out[i]) continue;
      if (status[i] === LICENSED && product[i] === p) continue;
      if (seated[i * P + p]) continue;
      if (state === 'active' && use.seatsUsed < sub.seats) {
        use.seatsUsed++;
        seated[i * P + p] = 1;
        if (status[i] !== LICENSED) {
          status[i] = LICENSED; reason[i] = R_ASSIGNED; product[i] = p; subOf[i] = k; groupAt[i] = candGroup[i];
        }
        continue;
      }
      if (state === 'active') noSeat[left++] = i;
      if (status[i] === LICENSED) continue;
      if (RANK[lost] > RANK[reason[i] || initialReason[i]]) {
        reason[i] = lost; product[i] = p; subOf[i] = k; groupAt[i] = candGroup[i];
      }
    }
    leftWithoutSeat.push(noSeat.slice(0, left));
  }
  // Exhausted: reached by this subscription, no seat from it, and no seat of its product from any other
  // (a device seated later by another subscription of the same product no longer counts).
  for (let k = 0; k < subs.length; k++) {
    const p = subProduct[k];
    const list = leftWithoutSeat[k];
    let exhausted = 0;
    for (let j = 0; j < list.length; j++) if (!seated[list[j] * P + p]) exhausted++;
    usage.get(subs[k].id)!.seatsExhausted = exhausted;
  }

  // The answers: one object per distinct (status, reason, product, subscription, group), found by a number
  // made of the codes (exact: far below 2^53 for any real catalogue), the previous device's first.
  const answers: DeviceEntitlement[] = [];
  const shared = new Map<number, number>();
  const answerOf = new Int32Array(n);
  const S = subs.length + 1, G = groupNames.length + 1;
  let lastCode = -1, last = -1;
  for (let i = 0; i < n; i++) {
    const r = reason[i] || initialReason[i];
    const code = (((status[i] * REASON_CODES.length + r) * (P + 1) + product[i] + 1) * S + subOf[i] + 1) * G + groupAt[i] + 1;
    if (code !== lastCode) {
      let a = shared.get(code);
      if (a === undefined) {
        a = answers.length;
        answers.push({
          status: status[i] === LICENSED ? 'licensed' : 'unlicensed', reason: REASON_CODES[r],
          product: product[i] === NO_INDEX ? null : products[product[i]],
          subscription: subOf[i] === NO_INDEX ? null : subs[subOf[i]].id,
          group: groupAt[i] === NO_INDEX ? null : groupNames[groupAt[i]],
        });
        shared.set(code, a);
      }
      lastCode = code;
      last = a;
    }
    answerOf[i] = last;
  }
  const answerOfRow = new Int32Array(rows);
  for (let j = 0; j < rows; j++) answerOfRow[j] = answerOf[rowIndex[j]];
  return { answers, answerOfRow, subscriptions: usage, groupsReached };
}

/** ReadonlyMap<device id, answer> over the allocation's own id index and answer array. */
class IndexedAnswers implements ReadonlyMap<string, DeviceEntitlement> {
  private readonly index: ReadonlyMap<string, number>;
  private readonly ids: readonly string[];
  private readonly answers: readonly DeviceEntitlement[];
  constructor(index: ReadonlyMap<string, number>, ids: readonly string[], answers: readonly DeviceEntitlement[]) {
    this.index = index;
    this.ids = ids;
    this.answers = answers;
  }
  get size(): number { return this.ids.length; }
  get(id: string): DeviceEntitlement | undefined {
    const i = this.index.get(id);
    return i === undefined ? undefined : this.answers[i];
  }
  has(id: string): boolean { return this.index.has(id); }
  *entries(): MapIterator<[string, DeviceEntitlement]> { for (let i = 0; i < this.ids.length; i++) yield [this.ids[i], this.answers[i]]; }
  keys(): MapIterator<string> { return this.ids.values(); }
  values(): MapIterator<DeviceEntitlement> { return this.answers.values(); }
  [Symbol.iterator](): MapIterator<[string, DeviceEntitlement]> { return this.entries(); }
  forEach(fn: (value: DeviceEntitlement, key: string, map: ReadonlyMap<string, DeviceEntitlement>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.ids.length; i++) fn.call(thisArg, this.answers[i], this.ids[i], this);
  }
}
