// Seat allocation (service/licensing/allocate.ts) as a pure function: whom a
// licence reaches through group membership and nesting, and with which group
// named, before seats are counted. No database.
import { describe, expect, it } from 'vitest';
import { allocateSeats } from '../../service/licensing/allocate.ts';
import { dev, devs, EA, input, licensedIds, members, sub } from './allocate-builders.ts';

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
