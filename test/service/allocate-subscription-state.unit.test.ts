// Seat allocation (service/licensing/allocate.ts) as a pure function: expired
// and suspended subscriptions, disabled devices, and which reason a device
// gets when several subscriptions fail it. No database.
import { describe, expect, it } from 'vitest';
import { allocateSeats, subscriptionState, type AllocSubscription } from '../../service/licensing/allocate.ts';
import { DAY, dev, devs, EA, input, licensedIds, members, NOW, sub } from './allocate-builders.ts';

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
