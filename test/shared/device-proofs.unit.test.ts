// The two identity statements (shared/device-proofs.ts), without processes:
// an enroll proof verifies only with the device's current key, for the one
// new key it names, inside its short window; a merge notice is followed only
// if the pinned service key signed it for this very device id. Each way of
// bending either one is tried.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import {
  ENROLL_PROOF_LIFETIME_S, ENROLL_PROOF_TYP, MERGE_NOTICE_TYP, keyThumbprint, signEnrollProof, signMergeNotice, verifyEnrollProof, verifyMergeNotice,
} from '../../shared/device-proofs.ts';
import { generateSigningKey, publicJwk, signDeviceRequestToken, signEntitlement } from '../../shared/token.ts';
import { DEVICE_AUTH_AUDIENCE, ENROLL_PROOF_AUDIENCE, ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';

const NOW = 1_780_000_000;
const DEV = 'dev_aaaaaaaaaaaaaaaaaaaa';

async function setup() {
  const current = generateKeyPairSync('ed25519');
  const next = generateKeyPairSync('ed25519');
  const nextJwk = await publicJwk(next.publicKey);
  const want = (over: Partial<Parameters<typeof verifyEnrollProof>[1]> = {}) =>
    ({ currentKey: current.publicKey, deviceId: DEV, newPublicKey: nextJwk, nowSeconds: NOW, ...over });
  return { current, next, nextJwk, want };
}

const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(() => null, (x) => x);
  expect(e, 'expected a refusal').not.toBeNull();
  expect(e.code).toBe('ENROLL_PROOF_INVALID');
  return e.message as string;
};

describe('enroll proof', () => {
  it('verifies for the current key, the named device and the named new key, anywhere inside its window', async () => {
    const { current, nextJwk, want } = await setup();
    const proof = await signEnrollProof(current.privateKey, DEV, nextJwk, NOW);
    for (const dt of [-30, 0, 1, ENROLL_PROOF_LIFETIME_S - 1, ENROLL_PROOF_LIFETIME_S + 29]) {
      await expect(verifyEnrollProof(proof, want({ nowSeconds: NOW + dt }))).resolves.toBeUndefined();
    }
  });

  it('is dead once its window (plus 30 s of clock tolerance) has passed, and not yet valid when stamped far ahead', async () => {
    const { current, nextJwk, want } = await setup();
    const proof = await signEnrollProof(current.privateKey, DEV, nextJwk, NOW);
    expect(await refusal(verifyEnrollProof(proof, want({ nowSeconds: NOW + ENROLL_PROOF_LIFETIME_S + 31 })))).toMatch(/exp/);
    expect(await refusal(verifyEnrollProof(proof, want({ nowSeconds: NOW - 31 })))).toMatch(/future/);
    expect(await refusal(verifyEnrollProof(proof, want({ nowSeconds: NOW - 3600 })))).toMatch(/future/);
  });

  it('is refused for another device id, another current key, or another new key', async () => {
    const { current, next, nextJwk, want } = await setup();
    const proof = await signEnrollProof(current.privateKey, DEV, nextJwk, NOW);
    expect(await refusal(verifyEnrollProof(proof, want({ deviceId: 'dev_bbbbbbbbbbbbbbbbbbbb' })))).toMatch(/sub/);
    expect(await refusal(verifyEnrollProof(proof, want({ currentKey: next.publicKey })))).toMatch(/signature/);
    const other = await publicJwk(generateKeyPairSync('ed25519').publicKey);
    expect(await refusal(verifyEnrollProof(proof, want({ newPublicKey: other })))).toMatch(/another public key/);
    // The thumbprint covers only the key material: kid/alg/use added by a client do not change it, x does.
    expect(await keyThumbprint({ ...nextJwk, kid: 'k1' })).toBe(await keyThumbprint(nextJwk));
    expect(await keyThumbprint(other)).not.toBe(await keyThumbprint(nextJwk));
  });

  it('is refused when hand-made with the wrong typ, audience, algorithm, missing claims or too long a life', async () => {
    const { current, nextJwk, want } = await setup();
    const jkt = await keyThumbprint(nextJwk);
    const build = (o: { typ?: string; aud?: string; iat?: number; exp?: number | null; jti?: boolean; cnf?: unknown } = {}) => {
      const j = new SignJWT(o.cnf === undefined ? { cnf: { jkt } } : o.cnf === null ? {} : { cnf: o.cnf })
        .setProtectedHeader({ alg: 'EdDSA', typ: o.typ ?? ENROLL_PROOF_TYP }).setSubject(DEV).setAudience(o.aud ?? ENROLL_PROOF_AUDIENCE)
        .setIssuedAt(o.iat ?? NOW);
      if (o.exp !== null) j.setExpirationTime(o.exp ?? NOW + 60);
      if (o.jti !== false) j.setJti('nonce');
      return j.sign(current.privateKey);
    };
    await expect(verifyEnrollProof(await build(), want())).resolves.toBeUndefined();
    expect(await refusal(verifyEnrollProof(await build({ typ: 'JWT' }), want()))).toMatch(/typ/);
    expect(await refusal(verifyEnrollProof(await build({ aud: DEVICE_AUTH_AUDIENCE }), want()))).toMatch(/aud/);
    expect(await refusal(verifyEnrollProof(await build({ exp: null }), want()))).toMatch(/exp/);
    expect(await refusal(verifyEnrollProof(await build({ jti: false }), want()))).toMatch(/jti/);
    expect(await refusal(verifyEnrollProof(await build({ cnf: null }), want()))).toMatch(/cnf/);
    expect(await refusal(verifyEnrollProof(await build({ cnf: { jkt: 42 } }), want()))).toMatch(/another public key/);
    expect(await refusal(verifyEnrollProof(await build({ exp: NOW + ENROLL_PROOF_LIFETIME_S + 1 }), want()))).toMatch(/window/);
    expect(await refusal(verifyEnrollProof(await build({ iat: NOW + 3600, exp: NOW + 3660 }), want()))).toMatch(/future/);
    // A device request token, signed by the right key, is not a proof.
    expect(await refusal(verifyEnrollProof(await signDeviceRequestToken(current.privateKey, DEV, ENROLL_PROOF_AUDIENCE, NOW), want()))).toMatch(/typ/);
    // alg "none" and garbage.
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: ENROLL_PROOF_TYP })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: DEV })).toString('base64url')}.`;
    await refusal(verifyEnrollProof(none, want()));
    await refusal(verifyEnrollProof('a.b.c', want()));
    // One flipped character of the signed payload.
    const good = await build();
    const [h, p, s] = good.split('.');
    const flipped = `${h}.${p.slice(0, -2)}${p.at(-2) === 'A' ? 'B' : 'A'}${p.at(-1)}.${s}`;
    await refusal(verifyEnrollProof(flipped, want()));
  });
});

describe('merge notice', () => {
  const ISS = 'devlic-test';
  it('is followed only when a pinned key signed it for this device id and names a valid other id', async () => {
    const key = generateSigningKey();
    const keys = new Map([[key.kid, key.publicKey]]);
    const notice = await signMergeNotice(key, ISS, DEV, 'dev_old', NOW);
    await expect(verifyMergeNotice(notice, { keys, issuer: ISS, deviceId: DEV })).resolves.toEqual({ retiredId: DEV, mergedInto: 'dev_old', issuedAt: NOW });

    const bad = async (n: unknown, over: Partial<Parameters<typeof verifyMergeNotice>[1]> = {}) => {
      const e = await verifyMergeNotice(n, { keys, issuer: ISS, deviceId: DEV, ...over }).then(() => null, (x) => x);
      expect(e?.code).toBe('TOKEN_INVALID');
      return e.message as string;
    };
    expect(await bad(notice, { deviceId: 'dev_someoneelse' })).toMatch(/sub/);
    expect(await bad(notice, { issuer: 'other' })).toMatch(/iss/);
    const stranger = generateSigningKey();
    expect(await bad(notice, { keys: new Map([[stranger.kid, stranger.publicKey]]) })).toMatch(/unknown key/);
    // Same kid, other key: the signature decides.
    expect(await bad(notice, { keys: new Map([[key.kid, stranger.publicKey]]) })).toMatch(/signature/);
    expect(await bad(undefined)).toMatch(/missing/);
    expect(await bad('x'.repeat(5000))).toMatch(/too large/);
    expect(await bad('not-a-jws')).toMatch(/malformed/);
    expect(await bad(await signMergeNotice(key, ISS, DEV, DEV, NOW))).toMatch(/no valid device/);
    expect(await bad(await signMergeNotice(key, ISS, DEV, 'dev bad id', NOW))).toMatch(/no valid device/);
    // An entitlement token signed by the same key is not a notice (typ), nor is a hand-made one with another typ.
    const ent = await signEntitlement(key, {
      iss: ISS, sub: DEV, aud: ENTITLEMENT_AUDIENCE, iat: NOW, nbf: NOW, exp: NOW + 60, seq: 1, status: 'licensed', reason: 'ASSIGNED',
      product: null, productName: null, subscription: null, group: null, warnAt: NOW, refreshAfter: NOW,
    });
    expect(await bad(ent)).toMatch(/typ/);
    const otherTyp = await new SignJWT({ mergedInto: 'dev_old' }).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(ISS).setAudience(ENTITLEMENT_AUDIENCE).setSubject(DEV).setIssuedAt(NOW).sign(key.privateKey);
    expect(await bad(otherTyp)).toMatch(/typ/);
    const wrongAud = await new SignJWT({ mergedInto: 'dev_old' }).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: MERGE_NOTICE_TYP })
      .setIssuer(ISS).setAudience(DEVICE_AUTH_AUDIENCE).setSubject(DEV).setIssuedAt(NOW).sign(key.privateKey);
    expect(await bad(wrongAud)).toMatch(/aud/);
  });
});
