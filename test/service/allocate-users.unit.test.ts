// Seat allocation for user licences (service/licensing/allocate-users.ts):
// seats count people, earliest member first, one seat per person per
// product, expired/suspended subscriptions license nobody, people removed
// from every group keep an answer (unlicensed).
import { describe, expect, it } from 'vitest';
import { allocateUserSeats, type UserAllocInput } from '../../service/licensing/allocate-users.ts';

const T = Date.parse('2030-01-01T00:00:00Z');
const sub = (id: string, seats: number, over: Partial<UserAllocInput['subscriptions'][0]> = {}) =>
  ({ id, productSku: 'U', seats, termEnd: null, suspended: false, ord: 1, ...over });

function input(over: Partial<UserAllocInput> = {}): UserAllocInput {
  return { now: T, subscriptions: [], assignments: [], memberships: [], known: [], ...over };
}

describe('allocateUserSeats', () => {
  it('licenses the members of an assigned user group, earliest first, and counts people', () => {
    const r = allocateUserSeats(input({
      subscriptions: [sub('s1', 2)], assignments: [{ subscriptionId: 's1', groupId: 'g' }],
      memberships: [{ groupId: 'g', user: 'carol', ord: 3 }, { groupId: 'g', user: 'alice', ord: 1 }, { groupId: 'g', user: 'bob', ord: 2 }],
    }));
    expect(r.users.get('alice')).toMatchObject({ status: 'licensed', reason: 'ASSIGNED', subscription: 's1', group: 'g', product: 'U' });
    expect(r.users.get('bob')).toMatchObject({ status: 'licensed' });
    expect(r.users.get('carol')).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED', subscription: 's1' });
    expect(r.subscriptions.get('s1')).toEqual({ seatsUsed: 2, seatsExhausted: 1, devicesReached: 3 });
  });

  it('uses one seat per person per product however many groups reach them', () => {
    const r = allocateUserSeats(input({
      subscriptions: [sub('s1', 5), sub('s2', 5, { ord: 2 })],
      assignments: [{ subscriptionId: 's1', groupId: 'g1' }, { subscriptionId: 's1', groupId: 'g2' }, { subscriptionId: 's2', groupId: 'g3' }],
      memberships: [{ groupId: 'g1', user: 'alice', ord: 1 }, { groupId: 'g2', user: 'alice', ord: 2 }, { groupId: 'g3', user: 'alice', ord: 3 }],
    }));
    expect(r.users.get('alice')).toMatchObject({ status: 'licensed', subscription: 's1', group: 'g1' });
    expect(r.subscriptions.get('s1')!.seatsUsed).toBe(1);
    expect(r.subscriptions.get('s2')!.seatsUsed).toBe(0);
  });

  it('does not count a person as left without a seat when a later subscription of the product seats them (as for devices)', () => {
    const r = allocateUserSeats(input({
      subscriptions: [sub('full', 1), sub('more', 5, { ord: 2 })],
      assignments: [{ subscriptionId: 'full', groupId: 'g1' }, { subscriptionId: 'more', groupId: 'g2' }],
      memberships: [{ groupId: 'g1', user: 'alice', ord: 1 }, { groupId: 'g1', user: 'bob', ord: 2 }, { groupId: 'g1', user: 'carol', ord: 3 }, { groupId: 'g2', user: 'bob', ord: 4 }],
    }));
    expect(r.users.get('bob')).toMatchObject({ status: 'licensed', subscription: 'more', group: 'g2' });
    expect(r.users.get('carol')).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED', subscription: 'full' });
    expect(r.subscriptions.get('full')).toEqual({ seatsUsed: 1, seatsExhausted: 1, devicesReached: 3 });
    expect(r.subscriptions.get('more')).toEqual({ seatsUsed: 1, seatsExhausted: 0, devicesReached: 1 });
  });

  it('licenses nobody through an expired or suspended subscription, saying which', () => {
    const m = [{ groupId: 'g', user: 'alice', ord: 1 }];
    const a = [{ subscriptionId: 's1', groupId: 'g' }];
    expect(allocateUserSeats(input({ subscriptions: [sub('s1', 5, { termEnd: T })], assignments: a, memberships: m })).users.get('alice'))
      .toMatchObject({ status: 'unlicensed', reason: 'SUBSCRIPTION_EXPIRED' });
    expect(allocateUserSeats(input({ subscriptions: [sub('s1', 5, { suspended: true })], assignments: a, memberships: m })).users.get('alice'))
      .toMatchObject({ status: 'unlicensed', reason: 'SUBSCRIPTION_SUSPENDED' });
    expect(allocateUserSeats(input({ subscriptions: [sub('s1', 5, { termEnd: T + 1 })], assignments: a, memberships: m })).users.get('alice'))
      .toMatchObject({ status: 'licensed' });
  });

  it('answers people who are in no licensed group, and known people in no group at all', () => {
    const r = allocateUserSeats(input({ memberships: [{ groupId: 'g', user: 'alice', ord: 1 }], known: ['bob'] }));
    expect(r.users.get('alice')).toMatchObject({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', subscription: null });
    expect(r.users.get('bob')).toMatchObject({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(r.users.size).toBe(2);
  });

  it('gives a seat freed by an earlier member to the next in line', () => {
    const a = [{ subscriptionId: 's1', groupId: 'g' }];
    const before = allocateUserSeats(input({ subscriptions: [sub('s1', 1)], assignments: a,
      memberships: [{ groupId: 'g', user: 'alice', ord: 1 }, { groupId: 'g', user: 'bob', ord: 2 }] }));
    expect(before.users.get('bob')!.status).toBe('unlicensed');
    const after = allocateUserSeats(input({ subscriptions: [sub('s1', 1)], assignments: a, memberships: [{ groupId: 'g', user: 'bob', ord: 2 }], known: ['alice', 'bob'] }));
    expect(after.users.get('bob')!.status).toBe('licensed');
    expect(after.users.get('alice')).toMatchObject({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
  });
});
