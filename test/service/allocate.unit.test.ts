// Seat allocation (service/licensing/allocate.ts) as a pure function: every
// rule of who gets a seat, tested without a database, plus a seeded
// property test over random fleets that checks the invariants hold for any
// shape of groups, nesting, subscriptions and memberships.
import { describe, expect, it } from 'vitest';
import {
  allocateSeats, subscriptionState, type AllocInput, type AllocMembership, type AllocResult, type AllocSubscription, type DeviceEntitlement,
} from '../../service/licensing/allocate.ts';
import { mulberry32 as prng } from '../helpers/prng.ts';

const NOW = Date.UTC(2025, 0, 15);
const DAY = 86_400_000;
const EA = 'M365_APPS_ENTERPRISE_DEVICE';
const EDU = 'M365_APPS_EDUCATION_DEVICE';

// ---------------------------------------------------------------- builders

function sub(id: string, seats: number, extra: Partial<AllocSubscription> = {}): AllocSubscription {
  return { id, productSku: EA, seats, termEnd: null, suspended: false, ord: Number(id.replace(/\D/g, '') || 1), ...extra };
}

/** Memberships with a global, ever-increasing ord in the order given: [group, device][]. */
function members(pairs: [string, string][], startOrd = 1): AllocMembership[] {
  return pairs.map(([groupId, deviceId], i) => ({ groupId, deviceId, ord: startOrd + i }));
}

function devs(...ids: string[]) {
  return ids.map((id) => ({ id, disabled: false }));
}

function input(p: Partial<AllocInput>): AllocInput {
  return { now: NOW, subscriptions: [], assignments: [], edges: [], memberships: [], devices: [], ...p };
}

function dev(r: AllocResult, id: string): DeviceEntitlement {
  const e = r.devices.get(id);
  if (!e) throw new Error(`no entitlement for ${id}`);
  return e;
}

function licensedIds(r: AllocResult): string[] {
  return [...r.devices].filter(([, e]) => e.status === 'licensed').map(([id]) => id).sort();
}

/** Maps as sorted plain arrays, so two results compare with toEqual whatever the insertion order. */
function canonical(r: AllocResult) {
  const sorted = <V>(m: ReadonlyMap<string, V>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { devices: sorted(r.devices), subscriptions: sorted(r.subscriptions), groupsReached: sorted(r.groupsReached) };
}


function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function shuffleInput(inp: AllocInput, rnd: () => number): AllocInput {
  return {
    now: inp.now,
    subscriptions: shuffled(inp.subscriptions, rnd),
    assignments: shuffled(inp.assignments, rnd),
    edges: shuffled(inp.edges, rnd),
    memberships: shuffled(inp.memberships, rnd),
    devices: shuffled(inp.devices, rnd),
  };
}

// ---------------------------------------------------------------- reach

describe('allocateSeats: who a licence reaches', () => {
  it('licenses every device of the assigned group with ASSIGNED, product, subscription and group', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 10)],
      assignments: [{ subscriptionId: 's1', groupId: 'lab' }],
      memberships: members([['lab', 'd1'], ['lab', 'd2'], ['lab', 'd3']]),
      devices: devs('d1', 'd2', 'd3'),
    }));
    for (const id of ['d1', 'd2', 'd3']) {
      expect(dev(r, id)).toEqual({ status: 'licensed', reason: 'ASSIGNED', product: EA, subscription: 's1', group: 'lab' });
    }
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 3, seatsExhausted: 0, devicesReached: 3 });
  });

  it('leaves devices outside every licensed group unlicensed with NOT_IN_LICENSED_GROUP and nulls', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 10)],
      assignments: [{ subscriptionId: 's1', groupId: 'lab' }],
      memberships: members([['lab', 'd1'], ['other', 'd2']]),
      devices: devs('d1', 'd2', 'd3'),
    }));
    expect(dev(r, 'd2')).toEqual({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null });
    expect(dev(r, 'd3').reason).toBe('NOT_IN_LICENSED_GROUP');
    expect(licensedIds(r)).toEqual(['d1']);
  });

  it('reaches devices of nested groups at any depth, naming the assigned group as the licence group', () => {
    // school > year7 > y7-tablets > y7-tablets-a > ... (depth 6)
    const chain = ['school', 'year7', 'tablets', 'tablets-a', 'deep-1', 'deep-2', 'deep-3'];
    const edges = chain.slice(1).map((child, i) => ({ parent: chain[i], child }));
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 100)],
      assignments: [{ subscriptionId: 's1', groupId: 'school' }],
      edges,
      memberships: members(chain.map((g, i) => [g, `d${i}`] as [string, string])),
      devices: devs(...chain.map((_, i) => `d${i}`)),
    }));
    for (let i = 0; i < chain.length; i++) {
      expect(dev(r, `d${i}`)).toMatchObject({ status: 'licensed', subscription: 's1', group: 'school' });
    }
    expect(r.groupsReached.get('school')).toBe(chain.length);
  });

  it('does not reach a parent group or a sibling from a nested assigned group', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 10)],
      assignments: [{ subscriptionId: 's1', groupId: 'year7' }],
      edges: [{ parent: 'school', child: 'year7' }, { parent: 'school', child: 'year8' }],
      memberships: members([['school', 'top'], ['year7', 'y7'], ['year8', 'y8']]),
      devices: devs('top', 'y7', 'y8'),
    }));
    expect(licensedIds(r)).toEqual(['y7']);
  });

  it('a device in several groups of the same subscription uses one seat', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 5)],
      assignments: [{ subscriptionId: 's1', groupId: 'a' }, { subscriptionId: 's1', groupId: 'b' }],
      edges: [{ parent: 'a', child: 'a-kids' }],
      memberships: members([['a', 'd1'], ['b', 'd1'], ['a-kids', 'd1'], ['b', 'd2']]),
      devices: devs('d1', 'd2'),
    }));
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 2, seatsExhausted: 0, devicesReached: 2 });
    expect(licensedIds(r)).toEqual(['d1', 'd2']);
    // The licence group is the assigned group whose membership came first.
    expect(dev(r, 'd1').group).toBe('a');
  });

  it('names the assigned group through which the earliest membership reached the device', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 5)],
      assignments: [{ subscriptionId: 's1', groupId: 'a' }, { subscriptionId: 's1', groupId: 'b' }],
      memberships: [{ groupId: 'a', deviceId: 'd1', ord: 9 }, { groupId: 'b', deviceId: 'd1', ord: 3 }],
      devices: devs('d1'),
    }));
    expect(dev(r, 'd1').group).toBe('b');
  });

  it('ignores memberships of devices that are not enrolled (unknown ids)', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 1)],
      assignments: [{ subscriptionId: 's1', groupId: 'lab' }],
      memberships: members([['lab', 'ghost'], ['lab', 'd1']]),
      devices: devs('d1'),
    }));
    expect(r.devices.has('ghost')).toBe(false);
    expect(dev(r, 'd1').status).toBe('licensed');
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 1, seatsExhausted: 0, devicesReached: 1 });
    expect(r.groupsReached.get('lab')).toBe(1);
  });

  it('returns one entitlement for every device, even with no subscriptions at all', () => {
    const r = allocateSeats(input({ memberships: members([['g', 'd1']]), devices: [...devs('d1', 'd2'), { id: 'd3', disabled: true }] }));
    expect([...r.devices.keys()].sort()).toEqual(['d1', 'd2', 'd3']);
    expect(dev(r, 'd1').reason).toBe('NOT_IN_LICENSED_GROUP');
    expect(dev(r, 'd3').reason).toBe('DEVICE_DISABLED');
    expect(r.subscriptions.size).toBe(0);
    expect(r.groupsReached.size).toBe(0);
  });

  it('terminates on cyclic nesting input and still reaches every group of the cycle once', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 10)],
      assignments: [{ subscriptionId: 's1', groupId: 'a' }],
      edges: [{ parent: 'a', child: 'b' }, { parent: 'b', child: 'c' }, { parent: 'c', child: 'a' }, { parent: 'b', child: 'b' }],
      memberships: members([['a', 'd1'], ['b', 'd2'], ['c', 'd3'], ['c', 'd1']]),
      devices: devs('d1', 'd2', 'd3'),
    }));
    expect(licensedIds(r)).toEqual(['d1', 'd2', 'd3']);
    expect(r.subscriptions.get('s1')!.seatsUsed).toBe(3);
    expect(r.groupsReached.get('a')).toBe(3);
  });
});

// ---------------------------------------------------------------- seats

describe('allocateSeats: seats running out', () => {
  const fourInShift = (seats: number, memberships = members([['shift', 'd1'], ['shift', 'd2'], ['shift', 'd3'], ['shift', 'd4']])) => input({
    subscriptions: [sub('s1', seats)],
    assignments: [{ subscriptionId: 's1', groupId: 'shift' }],
    memberships,
    devices: devs('d1', 'd2', 'd3', 'd4'),
  });

  it('gives seats to the earliest members (membership ord) and SEATS_EXHAUSTED to the rest', () => {
    const r = allocateSeats(fourInShift(2));
    expect(licensedIds(r)).toEqual(['d1', 'd2']);
    expect(dev(r, 'd3')).toEqual({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED', product: EA, subscription: 's1', group: 'shift' });
    expect(dev(r, 'd4').reason).toBe('SEATS_EXHAUSTED');
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 2, seatsExhausted: 2, devicesReached: 4 });
  });

  it('orders by membership ord, not by the order of the input or of device ids', () => {
    const r = allocateSeats(fourInShift(2, [
      { groupId: 'shift', deviceId: 'd1', ord: 40 }, { groupId: 'shift', deviceId: 'd2', ord: 30 },
      { groupId: 'shift', deviceId: 'd3', ord: 10 }, { groupId: 'shift', deviceId: 'd4', ord: 20 },
    ]));
    expect(licensedIds(r)).toEqual(['d3', 'd4']);
  });

  it('uses the earliest membership across nested groups to place a device in line', () => {
    // d2 joined the nested group (ord 1) before d1 joined the top group (ord 2).
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 1)],
      assignments: [{ subscriptionId: 's1', groupId: 'top' }],
      edges: [{ parent: 'top', child: 'kid' }],
      memberships: [{ groupId: 'kid', deviceId: 'd2', ord: 1 }, { groupId: 'top', deviceId: 'd1', ord: 2 }, { groupId: 'top', deviceId: 'd2', ord: 3 }],
      devices: devs('d1', 'd2'),
    }));
    expect(licensedIds(r)).toEqual(['d2']);
    expect(dev(r, 'd1').reason).toBe('SEATS_EXHAUSTED');
  });

  it('is deterministic whatever the order of its inputs (30 shuffles)', () => {
    const base = input({
      subscriptions: [sub('s1', 3), sub('s2', 2), sub('s3', 1, { productSku: EDU })],
      assignments: [
        { subscriptionId: 's1', groupId: 'g1' }, { subscriptionId: 's1', groupId: 'g2' },
        { subscriptionId: 's2', groupId: 'g3' }, { subscriptionId: 's3', groupId: 'g4' },
      ],
      edges: [{ parent: 'g1', child: 'g5' }, { parent: 'g3', child: 'g5' }, { parent: 'g5', child: 'g6' }, { parent: 'g4', child: 'g6' }],
      memberships: members([
        ['g6', 'd5'], ['g1', 'd1'], ['g2', 'd2'], ['g3', 'd3'], ['g5', 'd4'], ['g2', 'd1'], ['g4', 'd6'], ['g3', 'd7'],
        ['g6', 'd8'], ['g1', 'd9'], ['g4', 'd2'],
      ]),
      devices: [...devs('d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8'), { id: 'd9', disabled: true }],
    });
    const expected = canonical(allocateSeats(base));
    expect(expected.devices.filter(([, e]) => e.reason === 'SEATS_EXHAUSTED').length).toBeGreaterThan(0);
    const rnd = prng(7);
    for (let i = 0; i < 30; i++) expect(canonical(allocateSeats(shuffleInput(base, rnd)))).toEqual(expected);
  });

  it('hands a freed seat to the next in line when an early member is removed', () => {
    const all = members([['shift', 'd1'], ['shift', 'd2'], ['shift', 'd3'], ['shift', 'd4']]);
    const before = allocateSeats(fourInShift(2, all));
    expect(licensedIds(before)).toEqual(['d1', 'd2']);
    const after = allocateSeats(fourInShift(2, all.filter((m) => m.deviceId !== 'd1')));
    expect(licensedIds(after)).toEqual(['d2', 'd3']);
    expect(dev(after, 'd4').reason).toBe('SEATS_EXHAUSTED');
    expect(dev(after, 'd1').reason).toBe('NOT_IN_LICENSED_GROUP');
    expect(after.subscriptions.get('s1')).toEqual({ seatsUsed: 2, seatsExhausted: 1, devicesReached: 3 });
  });

  it('a re-added device goes to the back of the line (new ord)', () => {
    const r = allocateSeats(fourInShift(2, [...members([['shift', 'd2'], ['shift', 'd3'], ['shift', 'd4']], 2), { groupId: 'shift', deviceId: 'd1', ord: 99 }]));
    expect(licensedIds(r)).toEqual(['d2', 'd3']);
    expect(dev(r, 'd1').reason).toBe('SEATS_EXHAUSTED');
  });

  it('licenses more devices when seats are raised, in line order', () => {
    expect(licensedIds(allocateSeats(fourInShift(3)))).toEqual(['d1', 'd2', 'd3']);
    const r = allocateSeats(fourInShift(4));
    expect(licensedIds(r)).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 4, seatsExhausted: 0, devicesReached: 4 });
    expect(allocateSeats(fourInShift(40)).subscriptions.get('s1')!.seatsUsed).toBe(4);
  });

  it('with zero seats licenses nobody and shows every reached device as SEATS_EXHAUSTED', () => {
    const r = allocateSeats(fourInShift(0));
    expect(licensedIds(r)).toEqual([]);
    for (const id of ['d1', 'd2', 'd3', 'd4']) expect(dev(r, id).reason).toBe('SEATS_EXHAUSTED');
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 0, seatsExhausted: 4, devicesReached: 4 });
  });
});

// ---------------------------------------------------------------- subscription state

describe('allocateSeats: subscription state and disabled devices', () => {
  const one = (s: AllocSubscription, disabled = false) => input({
    subscriptions: [s],
    assignments: [{ subscriptionId: s.id, groupId: 'g' }],
    memberships: members([['g', 'd1'], ['g', 'd2']]),
    devices: [{ id: 'd1', disabled }, { id: 'd2', disabled: false }],
  });

  it('an expired subscription (termEnd <= now) licenses nobody: SUBSCRIPTION_EXPIRED, no seat used', () => {
    for (const termEnd of [NOW, NOW - 1, NOW - 365 * DAY]) {
      const r = allocateSeats(one(sub('s1', 10, { termEnd })));
      expect(licensedIds(r)).toEqual([]);
      expect(dev(r, 'd1')).toEqual({ status: 'unlicensed', reason: 'SUBSCRIPTION_EXPIRED', product: EA, subscription: 's1', group: 'g' });
      expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 0, seatsExhausted: 0, devicesReached: 2 });
    }
  });

  it('a term ending one millisecond after now still licenses', () => {
    expect(licensedIds(allocateSeats(one(sub('s1', 10, { termEnd: NOW + 1 }))))).toEqual(['d1', 'd2']);
  });

  it('a suspended subscription licenses nobody: SUBSCRIPTION_SUSPENDED, even if its term is also over', () => {
    const r = allocateSeats(one(sub('s1', 10, { suspended: true })));
    expect(licensedIds(r)).toEqual([]);
    expect(dev(r, 'd2').reason).toBe('SUBSCRIPTION_SUSPENDED');
    expect(r.subscriptions.get('s1')!.seatsUsed).toBe(0);
    expect(dev(allocateSeats(one(sub('s1', 10, { suspended: true, termEnd: NOW - DAY }))), 'd1').reason).toBe('SUBSCRIPTION_SUSPENDED');
  });

  it('subscriptionState: suspended beats expired; null term never expires', () => {
    expect(subscriptionState(sub('s1', 1), NOW)).toBe('active');
    expect(subscriptionState(sub('s1', 1, { termEnd: NOW }), NOW)).toBe('expired');
    expect(subscriptionState(sub('s1', 1, { termEnd: NOW + 1 }), NOW)).toBe('active');
    expect(subscriptionState(sub('s1', 1, { suspended: true, termEnd: NOW - 1 }), NOW)).toBe('suspended');
    expect(subscriptionState(sub('s1', 1, { termEnd: null }), Number.MAX_SAFE_INTEGER)).toBe('active');
  });

  it('a disabled device gets DEVICE_DISABLED and uses no seat, so the next in line gets it', () => {
    const r = allocateSeats(one(sub('s1', 1), true));
    expect(dev(r, 'd1')).toEqual({ status: 'unlicensed', reason: 'DEVICE_DISABLED', product: null, subscription: null, group: null });
    expect(dev(r, 'd2').status).toBe('licensed');
    expect(r.subscriptions.get('s1')).toMatchObject({ seatsUsed: 1, seatsExhausted: 0 });
  });

  it('a disabled device stays DEVICE_DISABLED when the subscription is expired or full', () => {
    expect(dev(allocateSeats(one(sub('s1', 0), true)), 'd1').reason).toBe('DEVICE_DISABLED');
    expect(dev(allocateSeats(one(sub('s1', 5, { termEnd: NOW - 1 }), true)), 'd1').reason).toBe('DEVICE_DISABLED');
    expect(allocateSeats(one(sub('s1', 0), true)).subscriptions.get('s1')!.seatsExhausted).toBe(1);
  });

  it('an active subscription wins over an expired one for the same device', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 5, { termEnd: NOW - DAY }), sub('s2', 5)],
      assignments: [{ subscriptionId: 's1', groupId: 'old' }, { subscriptionId: 's2', groupId: 'new' }],
      memberships: members([['old', 'd1'], ['new', 'd1']]),
      devices: devs('d1'),
    }));
    expect(dev(r, 'd1')).toMatchObject({ status: 'licensed', subscription: 's2', group: 'new' });
  });

  it('picks the most actionable reason when several subscriptions fail a device', () => {
    // full (SEATS_EXHAUSTED) ranks above suspended, suspended above expired
    const base = {
      assignments: [{ subscriptionId: 's1', groupId: 'exp' }, { subscriptionId: 's2', groupId: 'susp' }, { subscriptionId: 's3', groupId: 'full' }],
      memberships: members([['exp', 'd1'], ['susp', 'd1'], ['full', 'd1']]),
      devices: devs('d1'),
    };
    const r = allocateSeats(input({ ...base, subscriptions: [sub('s1', 5, { termEnd: NOW - 1 }), sub('s2', 5, { suspended: true }), sub('s3', 0)] }));
    expect(dev(r, 'd1')).toMatchObject({ reason: 'SEATS_EXHAUSTED', subscription: 's3' });
    const r2 = allocateSeats(input({ ...base, subscriptions: [sub('s1', 5, { termEnd: NOW - 1 }), sub('s2', 5, { suspended: true }), sub('s3', 5, { termEnd: NOW })] }));
    expect(dev(r2, 'd1')).toMatchObject({ reason: 'SUBSCRIPTION_SUSPENDED', subscription: 's2' });
  });
});

// ---------------------------------------------------------------- several subscriptions and products

describe('allocateSeats: several subscriptions and products', () => {
  it('a device reached by two subscriptions of one product is seated by the first (ord) only', () => {
    const r = allocateSeats(input({
      // s2 is listed first but s1 has the lower ord.
      subscriptions: [sub('s2', 5, { ord: 2 }), sub('s1', 5, { ord: 1 })],
      assignments: [{ subscriptionId: 's2', groupId: 'b' }, { subscriptionId: 's1', groupId: 'a' }],
      memberships: members([['b', 'd1'], ['a', 'd1'], ['b', 'd2']]),
      devices: devs('d1', 'd2'),
    }));
    expect(dev(r, 'd1')).toMatchObject({ status: 'licensed', subscription: 's1', group: 'a' });
    expect(dev(r, 'd2')).toMatchObject({ status: 'licensed', subscription: 's2', group: 'b' });
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 1, seatsExhausted: 0, devicesReached: 1 });
    expect(r.subscriptions.get('s2')).toEqual({ seatsUsed: 1, seatsExhausted: 0, devicesReached: 2 });
  });

  it('a device exhausted on subscription A but seated by B of the same product is licensed, and A does not count it', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 1), sub('s2', 5)],
      assignments: [{ subscriptionId: 's1', groupId: 'a' }, { subscriptionId: 's2', groupId: 'b' }],
      memberships: members([['a', 'd1'], ['a', 'd2'], ['b', 'd2']]),
      devices: devs('d1', 'd2'),
    }));
    expect(dev(r, 'd1')).toMatchObject({ status: 'licensed', subscription: 's1' });
    expect(dev(r, 'd2')).toMatchObject({ status: 'licensed', reason: 'ASSIGNED', subscription: 's2', group: 'b' });
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 1, seatsExhausted: 0, devicesReached: 2 });
    expect(r.subscriptions.get('s2')).toEqual({ seatsUsed: 1, seatsExhausted: 0, devicesReached: 1 });
  });

  it('a device left without a seat by two full subscriptions of its product counts as exhausted on both', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 1), sub('s2', 1)],
      assignments: [{ subscriptionId: 's1', groupId: 'a' }, { subscriptionId: 's2', groupId: 'b' }],
      memberships: members([['a', 'd1'], ['b', 'd2'], ['a', 'd3'], ['b', 'd3']]),
      devices: devs('d1', 'd2', 'd3'),
    }));
    expect(dev(r, 'd3')).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED', subscription: 's1' });
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 1, seatsExhausted: 1, devicesReached: 2 });
    // s2 reached d3 and had no seat for it either: its admin must see that.
    expect(r.subscriptions.get('s2')).toEqual({ seatsUsed: 1, seatsExhausted: 1, devicesReached: 2 });
  });

  it('a device may hold one seat of each product; the entitlement names the first subscription', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 5), sub('s2', 5, { productSku: EDU })],
      assignments: [{ subscriptionId: 's1', groupId: 'ent' }, { subscriptionId: 's2', groupId: 'edu' }],
      memberships: members([['ent', 'd1'], ['edu', 'd1'], ['edu', 'd2']]),
      devices: devs('d1', 'd2'),
    }));
    expect(dev(r, 'd1')).toMatchObject({ status: 'licensed', product: EA, subscription: 's1' });
    expect(dev(r, 'd2')).toMatchObject({ status: 'licensed', product: EDU, subscription: 's2' });
    expect(r.subscriptions.get('s1')!.seatsUsed).toBe(1);
    expect(r.subscriptions.get('s2')!.seatsUsed).toBe(2);
  });

  it('a second subscription of a product the device already holds (through any earlier subscription) takes no seat', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 5), sub('s2', 5, { productSku: EDU }), sub('s3', 5, { productSku: EDU })],
      assignments: [{ subscriptionId: 's1', groupId: 'a' }, { subscriptionId: 's2', groupId: 'b' }, { subscriptionId: 's3', groupId: 'c' }],
      memberships: members([['a', 'd1'], ['b', 'd1'], ['c', 'd1']]),
      devices: devs('d1'),
    }));
    expect(dev(r, 'd1')).toMatchObject({ subscription: 's1', product: EA });
    expect(r.subscriptions.get('s2')!.seatsUsed).toBe(1);
    expect(r.subscriptions.get('s3')!.seatsUsed).toBe(0);
  });

  it('a device seated by another product still counts as exhausted on a full subscription of its own product', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 1), sub('s2', 5, { productSku: EDU })],
      assignments: [{ subscriptionId: 's1', groupId: 'ent' }, { subscriptionId: 's2', groupId: 'edu' }],
      memberships: members([['ent', 'd1'], ['ent', 'd2'], ['edu', 'd2']]),
      devices: devs('d1', 'd2'),
    }));
    expect(dev(r, 'd2')).toMatchObject({ status: 'licensed', product: EDU, subscription: 's2' });
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 1, seatsExhausted: 1, devicesReached: 2 });
  });

  it('counts groupsReached per assigned group through nesting, independent of seats', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 1), sub('s2', 0, { productSku: EDU })],
      assignments: [{ subscriptionId: 's1', groupId: 'a' }, { subscriptionId: 's1', groupId: 'b' }, { subscriptionId: 's2', groupId: 'c' }],
      edges: [{ parent: 'a', child: 'a1' }, { parent: 'a1', child: 'a2' }, { parent: 'b', child: 'a2' }],
      memberships: members([['a', 'd1'], ['a1', 'd2'], ['a2', 'd3'], ['a2', 'd1'], ['b', 'd4'], ['c', 'd5'], ['unassigned', 'd6']]),
      devices: [...devs('d1', 'd2', 'd3', 'd4', 'd5', 'd6')],
    }));
    expect(r.groupsReached.get('a')).toBe(3); // d1 (twice), d2, d3
    expect(r.groupsReached.get('b')).toBe(3); // d4, d3, d1 through a2
    expect(r.groupsReached.get('c')).toBe(1);
    expect(r.groupsReached.has('a1')).toBe(false);
    expect(r.groupsReached.has('unassigned')).toBe(false);
    expect(r.subscriptions.get('s1')!.devicesReached).toBe(4);
  });

  it('an assigned group with no members reaches nobody', () => {
    const r = allocateSeats(input({
      subscriptions: [sub('s1', 1)], assignments: [{ subscriptionId: 's1', groupId: 'empty' }], devices: devs('d1'),
    }));
    expect(r.groupsReached.get('empty')).toBe(0);
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 0, seatsExhausted: 0, devicesReached: 0 });
  });

  it('a subscription with no assignment has usage zero', () => {
    const r = allocateSeats(input({ subscriptions: [sub('s1', 3)], devices: devs('d1') }));
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 0, seatsExhausted: 0, devicesReached: 0 });
  });

  it('does not modify its input', () => {
    const inp = input({
      subscriptions: [sub('s2', 1), sub('s1', 1)],
      assignments: [{ subscriptionId: 's1', groupId: 'b' }, { subscriptionId: 's1', groupId: 'a' }],
      edges: [{ parent: 'a', child: 'c' }],
      memberships: members([['c', 'd2'], ['a', 'd1']]),
      devices: devs('d2', 'd1'),
    });
    const copy = structuredClone(inp);
    allocateSeats(inp);
    expect(inp).toEqual(copy);
  });
});

// ---------------------------------------------------------------- property test

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
