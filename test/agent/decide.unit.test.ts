// The decision table: every rule of decide(), its order, its boundaries, and
// the clock policy, including the observed-time mark (offline rollback).
import { describe, expect, it } from 'vitest';
import { decide, judgeClock, CLOCK_TOLERANCE_MS, type DecideInput, type EntitlementInput } from '../../agent/decision/decide.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import { markToRecord, type ObservedMark } from '../../agent/decision/observed-time.ts';

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
    clock: { highWaterMs: T0, sync: { serverMs: T0, localMs: T0 }, observed: { localMs: T0, reason: null } }, nowMs: T0 + 1000, ...over,
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
    ['not yet valid', { entitlement: valid({ nbf: s(T0 + DAY), iat: s(T0 - DAY) }), clock: { highWaterMs: null, sync: null, observed: null } }, 'TOKEN_NOT_YET_VALID'],
    ['clock behind its last-sync reading', { nowMs: T0 - CLOCK_TOLERANCE_MS - 1000 }, 'CLOCK_UNTRUSTED'],
    ['clock behind the high water mark', { clock: { highWaterMs: T0 + 10 * DAY, sync: null, observed: null }, nowMs: T0 }, 'CLOCK_UNTRUSTED'],
    ['clock behind the token iat', { clock: { highWaterMs: null, sync: null, observed: null }, entitlement: valid({ iat: s(T0 + 5 * DAY) }), nowMs: T0 }, 'CLOCK_UNTRUSTED'],
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
    const ok = decide(input({ clock: { highWaterMs: T0, sync, observed: null }, nowMs: T0 - 30 * DAY + 1000 }));
    expect(ok).toMatchObject({ mode: 'full', effectiveNowMs: T0 + 1000 });
    // 85 days later (device time), the token is in its warning period by service time.
    const later = decide(input({ clock: { highWaterMs: T0, sync, observed: null }, nowMs: T0 - 30 * DAY + 85 * DAY }));
    expect(later.mode).toBe('full');
    expect(later.warning).toBeDefined();
    // ...and expires at exp in service time, not device time.
    expect(decide(input({ clock: { highWaterMs: T0, sync, observed: null }, nowMs: T0 - 30 * DAY + 90 * DAY })).reason).toBe('TOKEN_EXPIRED');
  });

  it('recovers from an untrusted clock after a sync re-anchors it', () => {
    const before = input({ nowMs: T0 - 20 * DAY });
    expect(decide(before).reason).toBe('CLOCK_UNTRUSTED');
    // Next successful sync while the clock is still 20 days behind.
    const after = { ...before, clock: { highWaterMs: T0 + 60_000, sync: { serverMs: T0 + 60_000, localMs: T0 - 20 * DAY }, observed: { localMs: T0 - 20 * DAY, reason: null } } };
    expect(decide(after)).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  });

  it('has no clock opinion before the first sync except the token iat', () => {
    expect(decide(input({ clock: { highWaterMs: null, sync: null, observed: null }, nowMs: T0 + 1000 })).mode).toBe('full');
    expect(decide(input({ clock: { highWaterMs: null, sync: null, observed: null }, nowMs: T0 - DAY })).reason).toBe('CLOCK_UNTRUSTED');
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
    const j = judgeClock({ highWaterMs: T0, sync: { serverMs: T0, localMs: T0 }, observed: null }, T0 - DAY);
    expect(j.ok).toBe(false);
    if (!j.ok) expect(j.detail).toMatch(/86400 s behind/);
  });
  it('applies the sync offset', () => {
    expect(judgeClock({ highWaterMs: null, sync: { serverMs: T0 + 5000, localMs: T0 }, observed: null }, T0 + 1000)).toEqual({ ok: true, effectiveNowMs: T0 + 6000 });
  });
});

describe('observed-time mark (offline clock rollback)', () => {
  const synced = { highWaterMs: T0, sync: { serverMs: T0, localMs: T0 } };
  const at = (nowMs: number, observed: ObservedMark | null) => input({ clock: { ...synced, observed }, nowMs });

  /** Runs decisions at these local times like the daemon does: each one may raise the mark. */
  function run(times: number[], start: ObservedMark | null = { localMs: T0, reason: null }) {
    let mark = start;
    const out = times.map((nowMs) => {
      const d = decide(at(nowMs, mark));
      mark = markToRecord(mark, nowMs, d.reason) ?? mark;
      return d;
    });
    return { decisions: out, mark };
  }

  it('the attack: offline +91 d (expired), then back to now -> CLOCK_UNTRUSTED, not full', () => {
    const { decisions, mark } = run([T0 + DAY, T0 + 91 * DAY, T0 + DAY + 60_000]);
    expect(decisions.map((d) => d.reason)).toEqual(['ASSIGNED', 'TOKEN_EXPIRED', 'CLOCK_UNTRUSTED']);
    expect(decisions[2].mode).toBe('read-only');
    expect(decisions[2].detail).toMatch(/7775940 s behind the latest time this device observed/);
    expect(decisions[2].detail).toMatch(/when it decided TOKEN_EXPIRED/);
    expect(mark).toEqual({ localMs: T0 + 91 * DAY, reason: 'TOKEN_EXPIRED' });
    // Without the mark (the inputs before this defence) the same clock is full again: the hole.
    expect(decide(at(T0 + DAY + 60_000, null))).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  });

  it('really offline for 91 days, then the clock set back into the validity window -> CLOCK_UNTRUSTED', () => {
    // The daemon re-decides every minute: the mark follows the clock.
    const minutes = Array.from({ length: 91 * 24 * 60 }, (_, i) => T0 + (i + 1) * 60_000);
    const { decisions, mark } = run(minutes);
    expect(decisions.at(-1)!.reason).toBe('TOKEN_EXPIRED');
    expect(mark!.localMs).toBe(T0 + 91 * DAY);
    for (const back of [T0 + 89 * DAY, T0 + 30 * DAY, T0 + 1000]) {
      expect(decide(at(back, mark))).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
    }
  });

  it('tolerates steps back within CLOCK_TOLERANCE_MS of the mark, not beyond', () => {
    const mark = { localMs: T0 + 10 * DAY, reason: 'ASSIGNED' };
    expect(decide(at(T0 + 10 * DAY - CLOCK_TOLERANCE_MS, mark)).mode).toBe('full');
    expect(decide(at(T0 + 10 * DAY - CLOCK_TOLERANCE_MS + 1000, mark)).mode).toBe('full');
    expect(decide(at(T0 + 10 * DAY - CLOCK_TOLERANCE_MS - 1, mark)).reason).toBe('CLOCK_UNTRUSTED');
    expect(decide(at(T0 + 10 * DAY - CLOCK_TOLERANCE_MS - 1000, mark)).reason).toBe('CLOCK_UNTRUSTED');
    // At or ahead of the mark: no opinion.
    expect(decide(at(T0 + 10 * DAY, mark)).mode).toBe('full');
    expect(decide(at(T0 + 20 * DAY, mark)).mode).toBe('full');
  });

  it('a sync re-anchors it: the service time wins over a local clock that was far ahead', () => {
    // Online, the clock was a year ahead: the daemon recorded that.
    const ahead = { localMs: T0 + 365 * DAY, reason: 'ASSIGNED' };
    expect(decide(at(T0 + DAY, ahead)).reason).toBe('CLOCK_UNTRUSTED');
    // The clock is put right and the next sync succeeds: sync point and mark move to the sync's local time.
    const after = input({ clock: { highWaterMs: T0 + DAY, sync: { serverMs: T0 + DAY, localMs: T0 + DAY }, observed: { localMs: T0 + DAY, reason: null } }, nowMs: T0 + DAY + 1000 });
    expect(decide(after)).toMatchObject({ mode: 'full', reason: 'ASSIGNED', effectiveNowMs: T0 + DAY + 1000 });
    // Also when the clock stays wrong (20 days behind) after the sync: effective now is the service's.
    const wrong = input({ clock: { highWaterMs: T0 + DAY, sync: { serverMs: T0 + DAY, localMs: T0 - 20 * DAY }, observed: { localMs: T0 - 20 * DAY, reason: null } }, nowMs: T0 - 20 * DAY + 1000 });
    expect(decide(wrong)).toMatchObject({ mode: 'full', effectiveNowMs: T0 + DAY + 1000 });
  });

  it('never moves effective now or the trusted high water: only the service time does', () => {
    // A mark far ahead and the clock at it: the token is judged on the sync offset from the local clock, as before.
    const d = decide(at(T0 + 50 * DAY, { localMs: T0 + 50 * DAY, reason: 'ASSIGNED' }));
    expect(d).toMatchObject({ mode: 'full', effectiveNowMs: T0 + 50 * DAY });
    const j = judgeClock({ highWaterMs: null, sync: { serverMs: T0 + 5000, localMs: T0 }, observed: { localMs: T0 + 2 * DAY, reason: 'ASSIGNED' } }, T0 + 2 * DAY);
    expect(j).toEqual({ ok: true, effectiveNowMs: T0 + 2 * DAY + 5000 });
  });

  it('keeps the rule order: token problems and the service\'s unlicensed reasons come first', () => {
    const mark = { localMs: T0 + 91 * DAY, reason: 'TOKEN_EXPIRED' };
    const behind = (over: Partial<DecideInput>) => decide(input({ clock: { ...synced, observed: mark }, nowMs: T0 + DAY, ...over })).reason;
    expect(behind({})).toBe('CLOCK_UNTRUSTED');
    expect(behind({ enrolled: false })).toBe('NOT_ENROLLED');
    expect(behind({ revoked: true })).toBe('DEVICE_REVOKED');
    expect(behind({ entitlement: { kind: 'none' } })).toBe('NO_ENTITLEMENT');
    expect(behind({ entitlement: valid({ seq: 1 }) })).toBe('TOKEN_REPLAYED');
    expect(behind({ entitlement: valid({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' }) })).toBe('SEATS_EXHAUSTED');
    // An untrusted clock wins over the expiry it cannot judge.
    expect(behind({ entitlement: valid({ exp: s(T0 + DAY / 2) }) })).toBe('CLOCK_UNTRUSTED');
  });

  it('reports the other clock rules first when they apply too (their wording is kept)', () => {
    const mark = { localMs: T0 + 91 * DAY, reason: 'TOKEN_EXPIRED' };
    const j = judgeClock({ ...synced, observed: mark }, T0 - DAY);
    expect(j.ok).toBe(false);
    if (!j.ok) expect(j.detail).toMatch(/behind its reading at the last sync/);
  });

  it('says when the mark was set by a sync', () => {
    const j = judgeClock({ highWaterMs: null, sync: null, observed: { localMs: T0, reason: null } }, T0 - DAY);
    expect(j).toEqual({ ok: false, detail: `local clock is 86400 s behind the latest time this device observed (${new Date(T0).toISOString()}, at a successful sync)` });
  });

  it('on its own (no sync point yet, e.g. a database from before the mark) still catches a rollback', () => {
    const d = decide(input({ clock: { highWaterMs: null, sync: null, observed: { localMs: T0 + 91 * DAY, reason: 'TOKEN_EXPIRED' } }, nowMs: T0 + DAY }));
    expect(d.reason).toBe('CLOCK_UNTRUSTED');
  });
});
