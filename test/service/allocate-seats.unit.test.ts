// Seat allocation (service/licensing/allocate.ts) as a pure function: seats
// running out, the line (membership ord) that decides who keeps one, and that
// the result does not depend on the order of the input. No database.
import { describe, expect, it } from 'vitest';
import { allocateSeats } from '../../service/licensing/allocate.ts';
import { mulberry32 as prng } from '../helpers/prng.ts';
import { canonical, dev, devs, EA, EDU, input, licensedIds, members, shuffleInput, sub } from './allocate-builders.ts';

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
