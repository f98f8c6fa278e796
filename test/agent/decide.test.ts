// The decision table: every rule of decide(), its order, its boundaries, and
// the clock policy.
import { describe, expect, it } from 'vitest';
import { decide, judgeClock, CLOCK_TOLERANCE_MS, type DecideInput, type EntitlementInput } from '../../agent/decide.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const s = (ms: number) => Math.floor(ms / 1000);

function claims(over: Partial<EntitlementClaims> = {}): EntitlementClaims {
  return {
    iss: 'devlic', sub: 'dev_1', aud: 'devlic-agent', iat: s(T0), nbf: s(T0) - 300, exp: s(T0 + 90 * DAY), seq: 5,
    status: 'licensed', reason: 'ASSIGNED', product: 'M365_APPS_ENTERPRISE_DEVICE', productName: 'M365 Apps', subscription: 'sub_1',
    group: 'grp_1', warnAt: s(T0 + 80 * DAY), refreshAfter: s(T0 + DAY), ...over,
  };
}

const valid = (over: Partial<EntitlementClaims> = {}): EntitlementInput => ({ kind: 'valid', claims: claims(over) });

function input(over: Partial<DecideInput> = {}): DecideInput {
  return {
    enrolled: true, revoked: false, entitlement: valid(), minSeq: 5,
    clock: { highWaterMs: T0, sync: { serverMs: T0, localMs: T0 } }, nowMs: T0 + 1000, ...over,
  };
}

describe('decide', () => {
  it('gives full mode for a valid licensed token, with the token reason', () => {
    const d = decide(input());
    expect(d).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
    expect(d.warning).toBeUndefined();
  });

  const readOnlyCases: [string, Partial<DecideInput>, string][] = [
    ['not enrolled', { enrolled: false }, 'NOT_ENROLLED'],
    ['revoked', { revoked: true }, 'DEVICE_REVOKED'],
    ['no token', { entitlement: { kind: 'none' } }, 'NO_ENTITLEMENT'],
    ['bad signature', { entitlement: { kind: 'invalid', code: 'TOKEN_INVALID', message: 'signature does not verify' } }, 'TOKEN_INVALID'],
    ['other device', { entitlement: { kind: 'invalid', code: 'TOKEN_OTHER_DEVICE', message: 'for another device' } }, 'TOKEN_OTHER_DEVICE'],
    ['replayed older token', { entitlement: valid({ seq: 4 }), minSeq: 5 }, 'TOKEN_REPLAYED'],
    ['unlicensed: not in group', { entitlement: valid({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' }) }, 'NOT_IN_LICENSED_GROUP'],
    ['unlicensed: seats', { entitlement: valid({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' }) }, 'SEATS_EXHAUSTED'],
    ['unlicensed: expired subscription', { entitlement: valid({ status: 'unlicensed', reason: 'SUBSCRIPTION_EXPIRED' }) }, 'SUBSCRIPTION_EXPIRED'],
    ['unlicensed: disabled', { entitlement: valid({ status: 'unlicensed', reason: 'DEVICE_DISABLED' }) }, 'DEVICE_DISABLED'],
    ['expired', { nowMs: T0 + 90 * DAY }, 'TOKEN_EXPIRED'],
    ['long expired', { nowMs: T0 + 400 * DAY }, 'TOKEN_EXPIRED'],
    ['not yet valid', { entitlement: valid({ nbf: s(T0 + DAY), iat: s(T0 - DAY) }), clock: { highWaterMs: null, sync: null } }, 'TOKEN_NOT_YET_VALID'],
    ['clock behind its last-sync reading', { nowMs: T0 - CLOCK_TOLERANCE_MS - 1000 }, 'CLOCK_UNTRUSTED'],
    ['clock behind the high water mark', { clock: { highWaterMs: T0 + 10 * DAY, sync: null }, nowMs: T0 }, 'CLOCK_UNTRUSTED'],
    ['clock behind the token iat', { clock: { highWaterMs: null, sync: null }, entitlement: valid({ iat: s(T0 + 5 * DAY) }), nowMs: T0 }, 'CLOCK_UNTRUSTED'],
  ];
  it.each(readOnlyCases)('is read-only when %s', (_name, over, reason) => {
    const d = decide(input(over));
    expect(d.mode).toBe('read-only');
    expect(d.reason).toBe(reason);
    expect(d.warning).toBeUndefined();
  });

  it('applies the rules in order (first match wins)', () => {
    const everythingWrong = input({
      enrolled: false, revoked: true, entitlement: { kind: 'none' }, nowMs: T0 - 100 * DAY,
    });
    expect(decide(everythingWrong).reason).toBe('NOT_ENROLLED');
    expect(decide({ ...everythingWrong, enrolled: true }).reason).toBe('DEVICE_REVOKED');
    expect(decide({ ...everythingWrong, enrolled: true, revoked: false }).reason).toBe('NO_ENTITLEMENT');
    // A replay is reported even when the replayed token says unlicensed.
    expect(decide(input({ entitlement: valid({ seq: 1, status: 'unlicensed', reason: 'SEATS_EXHAUSTED' }) })).reason).toBe('TOKEN_REPLAYED');
    // The service's own "unlicensed" wins over a clock problem: it is the more useful reason.
    expect(decide(input({ entitlement: valid({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' }), nowMs: T0 - 30 * DAY })).reason).toBe('SEATS_EXHAUSTED');
    // An untrusted clock wins over expiry: the expiry cannot be judged on it.
    expect(decide(input({ nowMs: T0 - 30 * DAY })).reason).toBe('CLOCK_UNTRUSTED');
  });

  it('stays full offline until exp, warning from warnAt', () => {
    const justBeforeWarn = decide(input({ nowMs: T0 + 80 * DAY - 1 }));
    expect(justBeforeWarn).toMatchObject({ mode: 'full' });
    expect(justBeforeWarn.warning).toBeUndefined();
    const atWarn = decide(input({ nowMs: T0 + 80 * DAY }));
    expect(atWarn.mode).toBe('full');
    expect(atWarn.warning).toMatchObject({ code: 'EXPIRES_SOON', expiresAt: T0 + 90 * DAY });
    expect(atWarn.warning!.message).toContain('10 days');
    const lastSecond = decide(input({ nowMs: T0 + 90 * DAY - 1 }));
    expect(lastSecond.mode).toBe('full');
    expect(lastSecond.warning).toBeDefined();
    expect(decide(input({ nowMs: T0 + 90 * DAY })).mode).toBe('read-only');
  });

  it('accepts the token at seq equal to the watermark and above it', () => {
    expect(decide(input({ minSeq: 5 })).mode).toBe('full');
    expect(decide(input({ minSeq: 0 })).mode).toBe('full');
    expect(decide(input({ minSeq: 6 })).reason).toBe('TOKEN_REPLAYED');
  });

  it('gives every user the same device mode (no per-user licence)', () => {
    for (const user of ['alice', 'bob', 'root', '']) {
      const d = decide(input({ user }));
      expect(d).toMatchObject({ mode: 'full', reason: 'ASSIGNED', user });
      expect(decide(input({ user, entitlement: { kind: 'none' } }))).toMatchObject({ mode: 'read-only', user });
    }
  });

  it('tolerates small clock steps back but not large ones', () => {
    expect(decide(input({ nowMs: T0 - CLOCK_TOLERANCE_MS + 1000 })).mode).toBe('full');
    expect(decide(input({ nowMs: T0 - CLOCK_TOLERANCE_MS - 1000 })).reason).toBe('CLOCK_UNTRUSTED');
  });

  it('judges the token on service time when the device clock is simply wrong but synced', () => {
    // The device clock is 30 days behind, and was so at the last sync: effective now = service time.
    const sync = { serverMs: T0, localMs: T0 - 30 * DAY };
    const ok = decide(input({ clock: { highWaterMs: T0, sync }, nowMs: T0 - 30 * DAY + 1000 }));
    expect(ok).toMatchObject({ mode: 'full', effectiveNowMs: T0 + 1000 });
    // 85 days later (device time), the token is in its warning period by service time.
    const later = decide(input({ clock: { highWaterMs: T0, sync }, nowMs: T0 - 30 * DAY + 85 * DAY }));
    expect(later.mode).toBe('full');
    expect(later.warning).toBeDefined();
    // ...and expires at exp in service time, not device time.
    expect(decide(input({ clock: { highWaterMs: T0, sync }, nowMs: T0 - 30 * DAY + 90 * DAY })).reason).toBe('TOKEN_EXPIRED');
  });

  it('recovers from an untrusted clock after a sync re-anchors it', () => {
    const before = input({ nowMs: T0 - 20 * DAY });
    expect(decide(before).reason).toBe('CLOCK_UNTRUSTED');
    // Next successful sync while the clock is still 20 days behind.
    const after = { ...before, clock: { highWaterMs: T0 + 60_000, sync: { serverMs: T0 + 60_000, localMs: T0 - 20 * DAY } } };
    expect(decide(after)).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  });

  it('has no clock opinion before the first sync except the token iat', () => {
    expect(decide(input({ clock: { highWaterMs: null, sync: null }, nowMs: T0 + 1000 })).mode).toBe('full');
    expect(decide(input({ clock: { highWaterMs: null, sync: null }, nowMs: T0 - DAY })).reason).toBe('CLOCK_UNTRUSTED');
  });

  it('is pure: same input, same output, input not modified', () => {
    const i = input({ nowMs: T0 + 85 * DAY, user: 'alice' });
    const copy = structuredClone(i);
    expect(decide(i)).toEqual(decide(i));
    expect(i).toEqual(copy);
  });
});

describe('judgeClock', () => {
  it('reports why the clock is untrusted', () => {
    const j = judgeClock({ highWaterMs: T0, sync: { serverMs: T0, localMs: T0 } }, T0 - DAY);
    expect(j.ok).toBe(false);
    if (!j.ok) expect(j.detail).toMatch(/86400 s behind/);
  });
  it('applies the sync offset', () => {
    expect(judgeClock({ highWaterMs: null, sync: { serverMs: T0 + 5000, localMs: T0 } }, T0 + 1000)).toEqual({ ok: true, effectiveNowMs: T0 + 6000 });
  });
});
