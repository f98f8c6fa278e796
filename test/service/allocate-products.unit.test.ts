// Seat allocation (service/licensing/allocate.ts) as a pure function: several
// subscriptions of one product, several products per device, usage counts
// per subscription and group, and that the input is left unchanged.
import { describe, expect, it } from 'vitest';
import { allocateSeats } from '../../service/licensing/allocate.ts';
import { dev, devs, EA, EDU, input, members, sub } from './allocate-builders.ts';

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
