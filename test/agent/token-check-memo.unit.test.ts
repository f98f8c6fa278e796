// checkToken remembers its last answer per identity (issue 18: the running
// agent decides every minute on the same token). What must not change: a
// different token, other pinned keys (a rotation replaces identity.keys in
// place), another device id (a merge changes it in place) or another
// identity are verified again, and a bad token stays refused.
import { describe, expect, it } from 'vitest';
import { generateSigningKey, publicJwk, signEntitlement } from '../../shared/token.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import { checkToken } from '../../agent/decision/evaluate.ts';
import type { StoredIdentity } from '../../agent/store/files.ts';

const ISSUER = 'https://licensing.example.test';
const NOW = Math.floor(Date.parse('2030-01-01T00:00:00Z') / 1000);
const key = generateSigningKey();
const other = generateSigningKey();

function claims(over: Record<string, unknown> = {}): EntitlementClaims {
  return {
    iss: ISSUER, sub: 'dev_1', aud: ENTITLEMENT_AUDIENCE, iat: NOW, nbf: NOW - 300, exp: NOW + 90 * 86400, seq: 7,
    status: 'licensed', reason: 'ASSIGNED', product: 'M365_APPS_ENTERPRISE_DEVICE', productName: 'M365 Apps',
    subscription: 'sub_1', group: 'grp_1', warnAt: NOW + 80 * 86400, refreshAfter: NOW + 86400, ...over,
  } as EntitlementClaims;
}

// checkToken reads only the pinned keys, the device id and the issuer.
async function identity(k = key): Promise<StoredIdentity> {
  return { deviceId: 'dev_1', issuer: ISSUER, keys: { keys: [await publicJwk(k.publicKey, k.kid)] } } as unknown as StoredIdentity;
}

describe('checkToken remembers the last answer per identity', () => {
  it('answers the same token the same way again', async () => {
    const id = await identity();
    const token = await signEntitlement(key, claims());
    const first = await checkToken(token, id);
    expect(first.kind).toBe('valid');
    expect(await checkToken(token, id)).toEqual(first);
  });

  it('verifies a different token: a tampered copy of a good one is refused', async () => {
    const id = await identity();
    const token = await signEntitlement(key, claims());
    expect((await checkToken(token, id)).kind).toBe('valid');
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify(claims({ seq: 8 }))).toString('base64url')}.${s}`;
    expect(await checkToken(forged, id)).toMatchObject({ kind: 'invalid', code: 'TOKEN_INVALID' });
    // ...and the good one is still good afterwards.
    expect((await checkToken(token, id)).kind).toBe('valid');
  });

  it('verifies again when the pinned keys are replaced in place (rotation)', async () => {
    const id = await identity();
    const token = await signEntitlement(key, claims());
    expect((await checkToken(token, id)).kind).toBe('valid');
    id.keys = (await identity(other)).keys;
    expect(await checkToken(token, id)).toMatchObject({ kind: 'invalid', code: 'TOKEN_INVALID' });
  });

  it('verifies again when the device id changes in place (merge)', async () => {
    const id = await identity();
    const token = await signEntitlement(key, claims());
    expect((await checkToken(token, id)).kind).toBe('valid');
    id.deviceId = 'dev_2';
    expect(await checkToken(token, id)).toMatchObject({ kind: 'invalid', code: 'TOKEN_OTHER_DEVICE' });
  });

  it('does not carry an answer over to another identity', async () => {
    const token = await signEntitlement(key, claims());
    expect((await checkToken(token, await identity())).kind).toBe('valid');
    expect((await checkToken(token, await identity(other))).kind).toBe('invalid');
  });
});
