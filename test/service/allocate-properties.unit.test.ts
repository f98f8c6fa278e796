// Seat allocation (service/licensing/allocate.ts) as a pure function: a
// seeded property test over random fleets that checks the invariants hold for
// any shape of groups, nesting, subscriptions and memberships, and a large
// fleet.
import { describe, expect, it } from 'vitest';
import {
  allocateSeats, subscriptionState, type AllocInput, type AllocResult, type AllocSubscription,
} from '../../service/licensing/allocate.ts';
import { mulberry32 as prng } from '../helpers/prng.ts';
import { canonical, DAY, EA, EDU, input, licensedIds, NOW, shuffled, shuffleInput, sub } from './allocate-builders.ts';

interface Fleet { input: AllocInput; groups: string[] }

function randomFleet(rnd: () => number): Fleet {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const nGroups = int(1, 9);
  const groups = Array.from({ length: nGroups }, (_, i) => `g${i}`);
  const edges: { parent: string; child: string }[] = [];
  for (let c = 1; c < nGroups; c++) {
    for (let p = 0; p < c; p++) if (rnd() < 0.25) edges.push({ parent: groups[p], child: groups[c] });
  }
  // Now and then a cycle or self-loop: the database refuses them, allocation must still be sane.
  if (nGroups > 2 && rnd() < 0.15) edges.push({ parent: groups[nGroups - 1], child: groups[0] });
  if (rnd() < 0.05) edges.push({ parent: groups[0], child: groups[0] });
  const products = rnd() < 0.5 ? [EA] : [EA, EDU];
  const nSubs = int(0, 4);
  const subsOrd = shuffled(Array.from({ length: nSubs }, (_, i) => i + 1), rnd);
  const subscriptions: AllocSubscription[] = Array.from({ length: nSubs }, (_, i) => {
    const roll = rnd();
    return {
      id: `s${i}`, productSku: products[int(0, products.length - 1)], seats: int(0, 6), ord: subsOrd[i] * 10,
      termEnd: roll < 0.1 ? NOW - int(0, 5) * DAY : roll < 0.4 ? NOW + int(1, 100) * DAY : null,
      suspended: rnd() < 0.1,
    };
  });
  // One subscription per group at most (the database enforces it).
  const assignments = nSubs === 0 ? [] : groups.filter(() => rnd() < 0.5).map((g) => ({ subscriptionId: `s${int(0, nSubs - 1)}`, groupId: g }));
  const nDevices = int(0, 25);
  const devices = Array.from({ length: nDevices }, (_, i) => ({ id: `d${String(i).padStart(2, '0')}`, disabled: rnd() < 0.1 }));
  const pairs = new Set<string>();
  const ms: [string, string][] = [];
  for (const d of devices) {
    const k = int(0, 3);
    for (let j = 0; j < k; j++) {
      const g = groups[int(0, nGroups - 1)];
      if (!pairs.has(`${g}/${d.id}`)) { pairs.add(`${g}/${d.id}`); ms.push([g, d.id]); }
    }
  }
  if (rnd() < 0.2) ms.push([groups[0], 'not-enrolled']);
  // Global, unique, ever-increasing ords, handed out in a random order.
  const ords = shuffled(ms.map((_, i) => i + 1), rnd);
  const memberships = ms.map(([groupId, deviceId], i) => ({ groupId, deviceId, ord: ords[i] }));
  return { groups, input: { now: NOW, subscriptions, assignments, edges, memberships, devices } };
}

/** Reach by fixed point over the edges: independent of graph.ts's traversal. */
function closure(root: string, edges: { parent: string; child: string }[]): Set<string> {
  const out = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const e of edges) if (out.has(e.parent) && !out.has(e.child)) { out.add(e.child); grew = true; }
  }
  return out;
}

function checkInvariants(inp: AllocInput, r: AllocResult): void {
  const subById = new Map(inp.subscriptions.map((s) => [s.id, s]));
  const deviceIds = new Set(inp.devices.map((d) => d.id));
  const disabled = new Set(inp.devices.filter((d) => d.disabled).map((d) => d.id));
  // For each subscription: devices reached and each device's earliest membership ord in its reach.
  const reach = new Map<string, Map<string, number>>();
  for (const s of inp.subscriptions) {
    const groups = new Set<string>();
    for (const a of inp.assignments) if (a.subscriptionId === s.id) for (const g of closure(a.groupId, inp.edges)) groups.add(g);
    const m = new Map<string, number>();
    for (const mb of inp.memberships) {
      if (!groups.has(mb.groupId) || !deviceIds.has(mb.deviceId)) continue;
      m.set(mb.deviceId, Math.min(m.get(mb.deviceId) ?? Infinity, mb.ord));
    }
    reach.set(s.id, m);
  }

  const products1 = new Set(inp.subscriptions.map((s) => s.productSku)).size === 1;
  expect([...r.devices.keys()].sort()).toEqual([...deviceIds].sort());
  for (const s of inp.subscriptions) {
    const use = r.subscriptions.get(s.id)!;
    expect(use, s.id).toBeDefined();
    expect(use.seatsUsed).toBeLessThanOrEqual(s.seats);
    expect(use.seatsUsed).toBeGreaterThanOrEqual(0);
    expect(use.devicesReached).toBe(reach.get(s.id)!.size);
    expect(use.seatsUsed + use.seatsExhausted).toBeLessThanOrEqual(use.devicesReached);
    if (subscriptionState(s, inp.now) !== 'active') expect(use.seatsUsed).toBe(0);
    const shownExhausted = [...r.devices.values()].filter((e) => e.reason === 'SEATS_EXHAUSTED' && e.subscription === s.id).length;
    expect(use.seatsExhausted).toBeGreaterThanOrEqual(shownExhausted);
    // Exhausted counts the enabled devices it reached that hold no seat of its product; with one product,
    // holding a seat is being licensed.
    if (subscriptionState(s, inp.now) === 'active') {
      const unseated = [...reach.get(s.id)!.keys()].filter((d) => !disabled.has(d) && r.devices.get(d)!.status === 'unlicensed').length;
      if (products1) expect(use.seatsExhausted).toBe(unseated);
      else expect(use.seatsExhausted).toBeGreaterThanOrEqual(unseated);
    } else {
      expect(use.seatsExhausted).toBe(0);
    }
    // Anyone left without a seat by this subscription means it is full.
    if (use.seatsExhausted > 0 || shownExhausted > 0) expect(use.seatsUsed).toBe(s.seats);
  }
  for (const a of inp.assignments) {
    const groups = closure(a.groupId, inp.edges);
    const reached = new Set(inp.memberships.filter((m) => groups.has(m.groupId) && deviceIds.has(m.deviceId)).map((m) => m.deviceId));
    expect(r.groupsReached.get(a.groupId)).toBe(reached.size);
  }
  const groupsOfDevice = new Map<string, string[]>();
  for (const m of inp.memberships) groupsOfDevice.set(m.deviceId, [...(groupsOfDevice.get(m.deviceId) ?? []), m.groupId]);
  // Per subscription, the latest line position (ord) among the devices it licensed.
  const lastSeatedOrd = new Map<string, number>();
  for (const [id, e] of r.devices) {
    if (e.status !== 'licensed') continue;
    const ord = reach.get(e.subscription!)?.get(id) ?? Infinity;
    lastSeatedOrd.set(e.subscription!, Math.max(lastSeatedOrd.get(e.subscription!) ?? -Infinity, ord));
  }

  // No device seated twice for a product: per product, devices licensed for it <= seats used of it
  // <= distinct enabled devices reached by its active subscriptions.
  const products = new Set(inp.subscriptions.map((s) => s.productSku));
  for (const p of products) {
    const subsOfP = inp.subscriptions.filter((s) => s.productSku === p);
    const used = subsOfP.reduce((n, s) => n + r.subscriptions.get(s.id)!.seatsUsed, 0);
    const licensedForP = [...r.devices.values()].filter((e) => e.status === 'licensed' && e.product === p).length;
    const reachable = new Set<string>();
    for (const s of subsOfP) if (subscriptionState(s, inp.now) === 'active') for (const d of reach.get(s.id)!.keys()) if (!disabled.has(d)) reachable.add(d);
    expect(licensedForP).toBeLessThanOrEqual(used);
    expect(used).toBeLessThanOrEqual(reachable.size);
    if (products.size === 1) expect(used).toBe(licensedForP);
  }

  for (const [id, e] of r.devices) {
    if (disabled.has(id)) {
      expect(e).toEqual({ status: 'unlicensed', reason: 'DEVICE_DISABLED', product: null, subscription: null, group: null });
      continue;
    }
    if (e.status === 'licensed') {
      // Licensed through an active subscription of its product, via an assigned group that reaches it.
      expect(e.reason).toBe('ASSIGNED');
      const s = subById.get(e.subscription!)!;
      expect(s).toBeDefined();
      expect(e.product).toBe(s.productSku);
      expect(subscriptionState(s, inp.now)).toBe('active');
      expect(inp.assignments.some((a) => a.subscriptionId === s.id && a.groupId === e.group)).toBe(true);
      const groups = closure(e.group!, inp.edges);
      expect((groupsOfDevice.get(id) ?? []).some((g) => groups.has(g))).toBe(true);
      continue;
    }
    const reachedBy = inp.subscriptions.filter((s) => reach.get(s.id)!.has(id));
    if (reachedBy.length === 0) {
      expect(e).toEqual({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null });
      continue;
    }
    expect(e.reason).not.toBe('NOT_IN_LICENSED_GROUP');
    expect(e.reason).not.toBe('ASSIGNED');
    const s = subById.get(e.subscription!)!;
    expect(reach.get(s.id)!.has(id)).toBe(true);
    expect(e.product).toBe(s.productSku);
    if (e.reason === 'SEATS_EXHAUSTED') {
      // Earliest first: everyone this subscription licensed joined the line before this device.
      expect(lastSeatedOrd.get(s.id) ?? -Infinity).toBeLessThan(reach.get(s.id)!.get(id)!);
    } else {
      expect(e.reason).toBe(subscriptionState(s, inp.now) === 'expired' ? 'SUBSCRIPTION_EXPIRED' : 'SUBSCRIPTION_SUSPENDED');
    }
    // An unlicensed device reached by an active subscription with a free seat would be a lost seat.
    for (const s2 of reachedBy) {
      if (subscriptionState(s2, inp.now) !== 'active') continue;
      expect(r.subscriptions.get(s2.id)!.seatsUsed).toBe(s2.seats);
    }
  }
}

describe('allocateSeats: properties over random fleets', () => {
  it('keeps every invariant on 2000 seeded random fleets, and is order independent', () => {
    let exhaustedSeen = 0, licensedSeen = 0, multiProductSeen = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const rnd = prng(seed);
      const { input: inp } = randomFleet(rnd);
      const r = allocateSeats(inp);
      try {
        checkInvariants(inp, r);
        if (seed % 4 === 0) expect(canonical(allocateSeats(shuffleInput(inp, rnd)))).toEqual(canonical(r));
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}\ninput: ${JSON.stringify(inp)}`);
      }
      for (const e of r.devices.values()) {
        if (e.reason === 'SEATS_EXHAUSTED') exhaustedSeen++;
        if (e.status === 'licensed') licensedSeen++;
      }
      if (new Set(inp.subscriptions.map((s) => s.productSku)).size > 1) multiProductSeen++;
    }
    // The generator must actually exercise the interesting cases.
    expect(exhaustedSeen).toBeGreaterThan(500);
    expect(licensedSeen).toBeGreaterThan(2000);
    expect(multiProductSeen).toBeGreaterThan(200);
  });

  it('handles a large fleet (5,000 devices, 200 nested groups, two subscriptions of one product)', () => {
    const rnd = prng(42);
    const groups = Array.from({ length: 200 }, (_, i) => `g${i}`);
    const edges = groups.slice(1).map((g, i) => ({ parent: groups[Math.floor(i / 3)], child: g }));
    const devices = Array.from({ length: 5000 }, (_, i) => ({ id: `d${i}`, disabled: false }));
    const memberships = devices.map((d, i) => ({ groupId: groups[Math.floor(rnd() * 200)], deviceId: d.id, ord: i + 1 }));
    const inp = input({
      subscriptions: [sub('s1', 3000), sub('s2', 1000)],
      assignments: [{ subscriptionId: 's1', groupId: 'g0' }, { subscriptionId: 's2', groupId: 'g1' }],
      edges, memberships, devices,
    });
    const r = allocateSeats(inp);
    // g1's subtree is inside g0's: s2 (same product, later ord) seats only devices s1 left without a seat.
    const underG1 = closure('g1', edges);
    const lateInG1 = memberships.filter((m) => m.ord > 3000 && underG1.has(m.groupId)).length;
    expect(lateInG1).toBeGreaterThan(0);
    expect(r.subscriptions.get('s1')!.seatsUsed).toBe(3000);
    expect(r.subscriptions.get('s2')!.seatsUsed).toBe(Math.min(1000, lateInG1));
    expect(r.subscriptions.get('s1')!.seatsExhausted).toBe(2000 - Math.min(1000, lateInG1));
    expect(r.subscriptions.get('s2')!.seatsExhausted).toBe(Math.max(0, lateInG1 - 1000));
    expect(licensedIds(r).length).toBe(3000 + Math.min(1000, lateInG1));
    checkInvariants(inp, r);
  });
});
