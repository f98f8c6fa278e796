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

const LICENSED = 1;
const NO_INDEX = -1;

/** A device by an integer key (a SQLite rowid, a PostgreSQL identity); keys from 0 up to a few times the fleet index a flat table, others a Map. */
export interface KeyedDevice { key: number; disabled: boolean | number; retired?: boolean | number }
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
  devices: readonly KeyedDevice[];
}
export interface KeyedAllocResult {
  /** The answer for input.devices[r] at r (a repeated key: the same answer at each of its rows). */
  byRow: readonly DeviceEntitlement[];
  subscriptions: Map<string, SubscriptionUsage>;
  groupsReached: Map<string, number>;
}

/** Integer key → dense index: a flat table while the keys are not too sparse, else a Map of small integers (no string hashing either way). */
function keyIndex(devices: readonly KeyedDevice[]): { get(key: number): number; set(key: number, i: number): void } {
  let max = -1;
  let flat = true; // only non-negative integers index a table
  for (const d of devices) {
    if (d.key > max) max = d.key;
    if (!(Number.isInteger(d.key) && d.key >= 0)) flat = false;
  }
  if (flat && max < 4 * devices.length + 1024) {
    const table = new Int32Array(max + 1).fill(NO_INDEX);
    return {
      get: (k) => (k >= 0 && k < table.length ? table[k] : NO_INDEX),
      set: (k, i) => { table[k] = i; },
    };
  }
  const map = new Map<number, number>();
  return { get: (k) => map.get(k) ?? NO_INDEX, set: (k, i) => { map.set(k, i); } };
}

export function allocateSeats(input: AllocInput): AllocResult {
  // String ids interned to keys 0..n-1 in order of first appearance: the keyed allocation's dense indexes are these keys.
  const index = new Map<string, number>();
  const ids: string[] = [];
  const devices: KeyedDevice[] = input.devices.map((d) => {
    let k = index.get(d.id);
    if (k === undefined) { k = ids.length; index.set(d.id, k); ids.push(d.id); }
    return { key: k, disabled: d.disabled, retired: d.retired };
  });
  const memberships: KeyedMembership[] = [];
  for (const m of input.memberships) {
    const k = index.get(m.deviceId);
    if (k !== undefined) memberships.push({ groupId: m.groupId, deviceKey: k, ord: m.ord });
  }
  const r = allocateSeatsByKey({ ...input, devices, memberships });
  const answers = new Array<DeviceEntitlement>(ids.length);
  devices.forEach((d, row) => { answers[d.key] = r.byRow[row]; });
  // A read-only map over the id index built above: a second Map of 100,000 entries cost a fifth of the allocation.
  return { devices: new IndexedAnswers(index, ids, answers), subscriptions: r.subscriptions, groupsReached: r.groupsReached };
}

export function allocateSeatsByKey(input: KeyedAllocInput): KeyedAllocResult {
  // Devices: a dense index per key (a repeated key keeps its first index; its last entry's flags win, as a Map would).
  const index = keyIndex(input.devices);
  const rowIndex = new Int32Array(input.devices.length);
  const initialReason: EntitlementReason[] = [];
  let n = 0;
  input.devices.forEach((d, row) => {
    let i = index.get(d.key);
    if (i === NO_INDEX) { i = n++; index.set(d.key, i); }
    rowIndex[row] = i;
    initialReason[i] = d.retired ? 'DEVICE_RETIRED' : d.disabled ? 'DEVICE_DISABLED' : 'NOT_IN_LICENSED_GROUP';
  });
  // Out of the seat race: disabled or retired (retired is the reason shown when both apply).
  const out = new Uint8Array(n);
  input.devices.forEach((d, row) => { if (d.disabled || d.retired) out[rowIndex[row]] = 1; });

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
  const reason: (EntitlementReason | null)[] = new Array(n).fill(null); // null: still initialReason
  const product = new Int32Array(n).fill(NO_INDEX);
  const subOf = new Int32Array(n).fill(NO_INDEX);
  const groupAt = new Int32Array(n).fill(NO_INDEX);
  const P = products.length;
  const seated = new Uint8Array(n * P); // device × product: holds a seat of it

  // Memberships per group, devices as indexes (members of no known device are dropped here, once).
  const membersByGroup = new Map<string, { dev: number[]; ord: number[] }>();
  const listOf = (groupId: string) => {
    let list = membersByGroup.get(groupId);
    if (!list) membersByGroup.set(groupId, (list = { dev: [], ord: [] }));
    return list;
  };
  for (const m of input.memberships) {
    const i = index.get(m.deviceKey);
    if (i === NO_INDEX) continue;
    const list = listOf(m.groupId);
    list.dev.push(i);
    list.ord.push(m.ord);
  }
  for (const g of input.memberGroups ?? []) {
    const list = listOf(g.groupId);
    for (let j = 0; j < g.deviceKeys.length; j++) {
      const i = index.get(g.deviceKeys[j]);
      if (i === NO_INDEX) continue;
      list.dev.push(i);
      list.ord.push(g.ords[j]);
    }
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
  const leftWithoutSeat: number[][] = [];

  // Per-subscription scratch, reused: a device is a candidate of subscription k when candStamp[i] === k + 1.
  const candStamp = new Int32Array(n);
  const candOrd = new Float64Array(n);
  const candGroup = new Int32Array(n);
  const seenStamp = new Int32Array(n);
  let seenRound = 0;

  subs.forEach((sub, k) => {
    const use: SubscriptionUsage = { seatsUsed: 0, seatsExhausted: 0, devicesReached: 0 };
    usage.set(sub.id, use);
    const noSeat: number[] = [];
    leftWithoutSeat.push(noSeat);
    const stamp = k + 1;
    const p = subProduct[k];
    // Candidates in first-reached order: the order the stable sort below breaks ties in.
    const candidates: number[] = [];
    for (const groupId of (assignmentsBySub.get(sub.id) ?? []).sort()) {
      const gi = groupOf(groupId);
      let reached = 0;
      seenRound++;
      for (const g of descendantsAndSelf(groupId, input.edges, children)) {
        const list = membersByGroup.get(g);
        if (!list) continue;
        const { dev, ord } = list;
        for (let j = 0; j < dev.length; j++) {
          const i = dev[j];
          if (seenStamp[i] !== seenRound) { seenStamp[i] = seenRound; reached++; }
          if (candStamp[i] !== stamp) {
            candStamp[i] = stamp; candOrd[i] = ord[j]; candGroup[i] = gi; candidates.push(i);
          } else if (ord[j] < candOrd[i]) {
            candOrd[i] = ord[j]; candGroup[i] = gi;
          }
        }
      }
      groupsReached.set(groupId, reached);
    }
    use.devicesReached = candidates.length;
    candidates.sort((a, b) => candOrd[a] - candOrd[b]);
    const state = subscriptionState(sub, input.now);
    const lost = unseatedReason(state);
    for (const i of candidates) {
      if (out[i]) continue;
      if (status[i] === LICENSED && product[i] === p) continue;
      if (seated[i * P + p]) continue;
      if (state === 'active' && use.seatsUsed < sub.seats) {
        use.seatsUsed++;
        seated[i * P + p] = 1;
        if (status[i] !== LICENSED) {
          status[i] = LICENSED; reason[i] = 'ASSIGNED'; product[i] = p; subOf[i] = k; groupAt[i] = candGroup[i];
        }
        continue;
      }
      if (state === 'active') noSeat.push(i);
      if (status[i] === LICENSED) continue;
      if (outranks(lost, reason[i] ?? initialReason[i])) {
        reason[i] = lost; product[i] = p; subOf[i] = k; groupAt[i] = candGroup[i];
      }
    }
  });
  // Exhausted: reached by this subscription, no seat from it, and no seat of its product from any other
  // (a device seated later by another subscription of the same product no longer counts).
  subs.forEach((sub, k) => {
    const p = subProduct[k];
    let exhausted = 0;
    for (const i of leftWithoutSeat[k]) if (!seated[i * P + p]) exhausted++;
    usage.get(sub.id)!.seatsExhausted = exhausted;
  });

  // The answers as objects; equal answers share one (nobody mutates them), so 100,000 devices are a few objects.
  const shared = new Map<string, DeviceEntitlement>();
  const answers: DeviceEntitlement[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = reason[i] ?? initialReason[i];
    const key = `${status[i]}|${r}|${product[i]}|${subOf[i]}|${groupAt[i]}`;
    let e = shared.get(key);
    if (!e) {
      e = {
        status: status[i] === LICENSED ? 'licensed' : 'unlicensed', reason: r,
        product: product[i] === NO_INDEX ? null : products[product[i]],
        subscription: subOf[i] === NO_INDEX ? null : subs[subOf[i]].id,
        group: groupAt[i] === NO_INDEX ? null : groupNames[groupAt[i]],
      };
      shared.set(key, e);
    }
    answers[i] = e;
  }
  const byRow = new Array<DeviceEntitlement>(input.devices.length);
  for (let row = 0; row < byRow.length; row++) byRow[row] = answers[rowIndex[row]];
  return { byRow, subscriptions: usage, groupsReached };
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
