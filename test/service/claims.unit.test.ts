// The claims of a device's entitlement token (buildClaims in
// service/licensing/entitlements.ts): offline validity, its cap at the
// subscription's term end, the warning time, and the identifying claims.
import { describe, expect, it } from 'vitest';
import { buildClaims, type EntitlementRow, type TokenPolicy } from '../../service/licensing/entitlements.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { EntitlementClaims } from '../../shared/schemas/device.ts';
import { isValid } from '../../shared/validate.ts';

const DAY = 86_400;
const NOW = Math.floor(Date.UTC(2025, 2, 1, 12) / 1000);
const POLICY: TokenPolicy = {
  issuer: 'https://licensing.example.test', offlineValiditySeconds: 90 * DAY, warnBeforeExpirySeconds: 10 * DAY,
  refreshAfterSeconds: 24 * 3600, reissueAfterSeconds: 24 * 3600,
};

function row(extra: Partial<EntitlementRow> = {}): EntitlementRow {
  return {
    seq: 4, status: 'licensed', reason: 'ASSIGNED', product_sku: 'M365_APPS_ENTERPRISE_DEVICE',
    product_name: 'Microsoft 365 Apps for enterprise (device)', subscription_id: 'sub_1', group_id: 'grp_1',
    term_end: null, token: null, token_iat: null, ...extra,
  };
}
const unlicensed = (extra: Partial<EntitlementRow> = {}) => row({
  status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product_sku: null, product_name: null, subscription_id: null, group_id: null, ...extra,
});
const iso = (s: number) => new Date(s * 1000).toISOString();

describe('buildClaims', () => {
  it('carries iss, sub, aud, iat, nbf, seq and the entitlement fields', () => {
    const c = buildClaims('dev_abc', row(), 7, NOW, POLICY);
    expect(c.iss).toBe(POLICY.issuer);
    expect(c.sub).toBe('dev_abc');
    expect(c.aud).toBe(ENTITLEMENT_AUDIENCE);
    expect(c.iat).toBe(NOW);
    // nbf allows for a device clock a little behind, never more than five minutes, never after iat.
    expect(c.nbf).toBeLessThanOrEqual(c.iat);
    expect(c.iat - c.nbf).toBeLessThanOrEqual(300);
    expect(c.seq).toBe(7); // the seq passed in, not the row's
    expect(c).toMatchObject({
      status: 'licensed', reason: 'ASSIGNED', product: 'M365_APPS_ENTERPRISE_DEVICE',
      productName: 'Microsoft 365 Apps for enterprise (device)', subscription: 'sub_1', group: 'grp_1',
    });
    expect(isValid(EntitlementClaims, c)).toBe(true);
  });

  it('sets exp to now + offline validity, warnAt to exp - warn window, refreshAfter to now + refresh', () => {
    const c = buildClaims('dev_abc', row(), 1, NOW, POLICY);
    expect(c.exp).toBe(NOW + 90 * DAY);
    expect(c.warnAt).toBe(NOW + 80 * DAY);
    expect(c.refreshAfter).toBe(NOW + 24 * 3600);
    const short = buildClaims('dev_abc', row(), 1, NOW, { ...POLICY, offlineValiditySeconds: 30 * DAY, warnBeforeExpirySeconds: 3 * DAY, refreshAfterSeconds: 600 });
    expect(short.exp).toBe(NOW + 30 * DAY);
    expect(short.warnAt).toBe(NOW + 27 * DAY);
    expect(short.refreshAfter).toBe(NOW + 600);
  });

  it('caps exp at the term end of the licensing subscription when that comes first', () => {
    const termEnd = NOW + 20 * DAY;
    const c = buildClaims('dev_abc', row({ term_end: iso(termEnd) }), 1, NOW, POLICY);
    expect(c.exp).toBe(termEnd);
    expect(c.warnAt).toBe(termEnd - 10 * DAY);
  });

  it('rounds a term end with milliseconds down to the second (never outlives the term)', () => {
    const c = buildClaims('dev_abc', row({ term_end: new Date((NOW + 5 * DAY) * 1000 + 999).toISOString() }), 1, NOW, POLICY);
    expect(c.exp).toBe(NOW + 5 * DAY);
  });

  it('does not extend exp when the term ends after the offline window', () => {
    const c = buildClaims('dev_abc', row({ term_end: iso(NOW + 400 * DAY) }), 1, NOW, POLICY);
    expect(c.exp).toBe(NOW + 90 * DAY);
  });

  it('does not cap an unlicensed answer by a term end', () => {
    const c = buildClaims('dev_abc', unlicensed({ reason: 'SEATS_EXHAUSTED', subscription_id: 'sub_1', term_end: iso(NOW + 2 * DAY) }), 1, NOW, POLICY);
    expect(c.status).toBe('unlicensed');
    expect(c.reason).toBe('SEATS_EXHAUSTED');
    expect(c.exp).toBe(NOW + 90 * DAY);
    const plain = buildClaims('dev_abc', unlicensed(), 1, NOW, POLICY);
    expect(plain).toMatchObject({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null });
    expect(plain.exp).toBe(NOW + 90 * DAY);
    expect(isValid(EntitlementClaims, plain)).toBe(true);
  });

  it('never puts warnAt before iat, even when the term ends inside the warning window', () => {
    const c = buildClaims('dev_abc', row({ term_end: iso(NOW + 3 * DAY) }), 1, NOW, POLICY);
    expect(c.exp).toBe(NOW + 3 * DAY);
    expect(c.warnAt).toBe(NOW);
    const noWindow = buildClaims('dev_abc', row(), 1, NOW, { ...POLICY, offlineValiditySeconds: 5 * DAY, warnBeforeExpirySeconds: 10 * DAY });
    expect(noWindow.warnAt).toBe(NOW);
    expect(noWindow.exp).toBe(NOW + 5 * DAY);
  });

  it('keeps iat <= warnAt <= exp for any term end in the future and any window', () => {
    for (const termDays of [0.01, 1, 9.99, 10, 10.01, 50, 89, 90, 91, 1000]) {
      for (const warnDays of [0, 1, 10, 89, 90, 200]) {
        const c = buildClaims('dev_abc', row({ term_end: iso(NOW + Math.round(termDays * DAY)) }), 1, NOW, { ...POLICY, warnBeforeExpirySeconds: warnDays * DAY });
        expect(c.iat).toBeLessThanOrEqual(c.warnAt);
        expect(c.warnAt).toBeLessThanOrEqual(c.exp);
        expect(c.exp).toBeLessThanOrEqual(NOW + 90 * DAY);
      }
    }
  });
});
