// The per-user decision table (agent/decision/decide-user.ts): every mix of
// device state x user-token state x online/offline, with the mode, the
// licence that gave it and the reason; plus the machine-wide mode for
// per-machine layers with several people signed in.
import { describe, expect, it } from 'vitest';
import { decide, type DecideInput, type EntitlementInput } from '../../agent/decision/decide.ts';
import { decideUser, machineMode, type UserDecideInput, type UserEntitlementInput } from '../../agent/decision/decide-user.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import type { UserEntitlementClaims } from '../../shared/schemas/user.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const s = (ms: number) => Math.floor(ms / 1000);
const clock = { highWaterMs: T0, sync: { serverMs: T0, localMs: T0 }, observed: { localMs: T0, reason: null } };

function base(over: Partial<EntitlementClaims> = {}): EntitlementClaims {
  return {
    iss: 'devlic', sub: 'dev_1', aud: 'devlic-agent', iat: s(T0), nbf: s(T0) - 300, exp: s(T0 + 90 * DAY), seq: 5,
    status: 'licensed', reason: 'ASSIGNED', product: 'P', productName: 'P', subscription: 'sub_1',
    group: 'grp_1', warnAt: s(T0 + 80 * DAY), refreshAfter: s(T0 + DAY), ...over,
  };
}

type DeviceCase = 'licensed' | 'unlicensed' | 'no token' | 'expired' | 'revoked';
type UserCase = 'licensed' | 'unlicensed' | 'seats' | 'none' | 'invalid' | 'other user' | 'replayed' | 'expired' | 'other device';

function deviceInput(c: DeviceCase): DecideInput {
  const entitlement: EntitlementInput = c === 'no token' ? { kind: 'none' }
    : { kind: 'valid', claims: base(c === 'unlicensed' ? { status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' } : c === 'expired' ? { exp: s(T0 + 500) } : {}) };
  return { enrolled: true, revoked: c === 'revoked', entitlement, minSeq: 5, clock, nowMs: T0 + 1000 };
}

function userEntitlement(c: UserCase): { e: UserEntitlementInput; minSeq: number } {
  const claims = (over: Partial<UserEntitlementClaims> = {}): UserEntitlementInput => ({ kind: 'valid', claims: { ...base({ seq: 7 }), user: 'alice@contoso', ...over } });
  switch (c) {
    case 'licensed': return { e: claims(), minSeq: 7 };
    case 'unlicensed': return { e: claims({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' }), minSeq: 7 };
    case 'seats': return { e: claims({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' }), minSeq: 7 };
    case 'none': return { e: { kind: 'none' }, minSeq: 0 };
    case 'invalid': return { e: { kind: 'invalid', code: 'TOKEN_INVALID', message: 'signature does not verify' }, minSeq: 0 };
    case 'other device': return { e: { kind: 'invalid', code: 'TOKEN_OTHER_DEVICE', message: 'for dev_2' }, minSeq: 0 };
    case 'other user': return { e: claims({ user: 'bob@contoso' }), minSeq: 0 };
    case 'replayed': return { e: claims({ seq: 6 }), minSeq: 7 };
    case 'expired': return { e: claims({ exp: s(T0 + 500) }), minSeq: 7 };
  }
}

function run(dc: DeviceCase, uc: UserCase, online: boolean) {
  const di = deviceInput(dc);
  const device = decide(di);
  const u = userEntitlement(uc);
  const input: UserDecideInput = {
    user: 'alice@contoso', device, enrolled: di.enrolled, revoked: di.revoked, entitlement: u.e, minSeq: u.minSeq, clock, nowMs: di.nowMs, online,
  };
  return decideUser(input);
}

const DEVICES: DeviceCase[] = ['licensed', 'unlicensed', 'no token', 'expired', 'revoked'];
const USERS: UserCase[] = ['licensed', 'unlicensed', 'seats', 'none', 'invalid', 'other user', 'replayed', 'expired', 'other device'];
const DEVICE_REASON: Record<DeviceCase, string> = {
  licensed: 'ASSIGNED', unlicensed: 'NOT_IN_LICENSED_GROUP', 'no token': 'NO_ENTITLEMENT', expired: 'TOKEN_EXPIRED', revoked: 'DEVICE_REVOKED',
};
const USER_REASON: Record<UserCase, string | null> = {
  licensed: 'ASSIGNED', unlicensed: 'NOT_IN_LICENSED_GROUP', seats: 'SEATS_EXHAUSTED', none: null, invalid: 'TOKEN_INVALID',
  'other user': 'TOKEN_INVALID', replayed: 'TOKEN_REPLAYED', expired: 'TOKEN_EXPIRED', 'other device': 'TOKEN_OTHER_DEVICE',
};

/** The expected outcome, written from the rule rather than from the code. */
function expected(dc: DeviceCase, uc: UserCase, online: boolean) {
  if (dc === 'licensed') return { mode: 'full', licence: 'device', reason: 'ASSIGNED' };
  // A revoked device decides nothing for anyone: decide() refuses every token on it.
  if (uc === 'licensed' && dc !== 'revoked') return { mode: 'full', licence: 'user', reason: 'ASSIGNED' };
  if (uc === 'none') return { mode: 'read-only', licence: null, reason: DEVICE_REASON[dc], firstSignIn: online ? 'pending' : 'offline' };
  return { mode: 'read-only', licence: null, reason: dc === 'revoked' ? 'DEVICE_REVOKED' : USER_REASON[uc] };
}

describe('decideUser: every mix of device, user token and connectivity', () => {
  const table = DEVICES.flatMap((d) => USERS.flatMap((u) => [true, false].map((online) => [d, u, online] as const)));
  it.each(table)('device %s, user token %s, online %s', (dc, uc, online) => {
    const got = run(dc, uc, online);
    const want = expected(dc, uc, online);
    expect(got).toMatchObject({ user: 'alice@contoso', ...want });
    if (!('firstSignIn' in want)) expect(got.firstSignIn).toBeUndefined();
    expect(got.licence === null).toBe(got.mode === 'read-only');
  });

  it('says why when a first sign-in is decided without a user token', () => {
    expect(run('unlicensed', 'none', false).detail).toMatch(/first sign-in while offline/);
    expect(run('unlicensed', 'none', true).detail).toMatch(/asking the service/);
  });

  it('keeps a user licence offline until its exp, with the warning, and not after', () => {
    const di = deviceInput('unlicensed');
    const device = decide(di);
    const claims: UserEntitlementClaims = { ...base({ seq: 7 }), user: 'alice@contoso' };
    const at = (nowMs: number) => decideUser({
      user: 'alice@contoso', device, enrolled: true, revoked: false, entitlement: { kind: 'valid', claims }, minSeq: 7, clock, nowMs, online: false,
    });
    expect(at(T0 + 79 * DAY)).toMatchObject({ mode: 'full', licence: 'user' });
    expect(at(T0 + 79 * DAY).warning).toBeUndefined();
    expect(at(T0 + 85 * DAY).warning).toMatchObject({ code: 'EXPIRES_SOON' });
    expect(at(T0 + 90 * DAY)).toMatchObject({ mode: 'read-only', reason: 'TOKEN_EXPIRED' });
    // The clock turned back makes the user token as useless as the device's.
    expect(at(T0 - 30 * DAY)).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
  });
});

describe('machineMode: one mode for a per-machine layer', () => {
  const device = (full: boolean) => decide(deviceInput(full ? 'licensed' : 'unlicensed'));
  const ud = (user: string, full: boolean, licence: 'user' | 'device' | null = full ? 'user' : null) =>
    ({ user, mode: full ? 'full' as const : 'read-only' as const, licence, reason: full ? 'ASSIGNED' : 'NOT_IN_LICENSED_GROUP' });

  it('is the device mode with nobody signed in', () => {
    expect(machineMode(device(true), [])).toEqual({ mode: 'full', reason: 'ASSIGNED' });
    expect(machineMode(device(false), [])).toEqual({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
  });
  it('is full only when every signed-in user is full', () => {
    expect(machineMode(device(false), [ud('a', true)]).mode).toBe('full');
    expect(machineMode(device(false), [ud('a', true), ud('b', true)]).mode).toBe('full');
    expect(machineMode(device(false), [ud('a', true), ud('b', false)])).toEqual({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(machineMode(device(false), [ud('a', false), ud('b', true)]).mode).toBe('read-only');
    expect(machineMode(device(true), [ud('a', true, 'device')]).mode).toBe('full');
  });
  it('counts people without a sign-in name as having the device mode', () => {
    expect(machineMode(device(false), [ud('a', true)], 1)).toEqual({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(machineMode(device(false), [], 1).mode).toBe('read-only');
    expect(machineMode(device(true), [ud('a', true, 'device')], 1).mode).toBe('full');
  });
});
