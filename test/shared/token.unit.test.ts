// Token signing and checking (shared/token.ts): the service's entitlement
// JWS and the device's request JWT. Every way a token can be wrong must be
// refused with a typed error; a good token must verify with the pinned key.
import { createHmac, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactSign, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  generateSigningKey, isEd25519Jwk, keyFromJwk, publicJwk, signDeviceRequestToken, signEntitlement, unverifiedSubject,
  verifyDeviceRequestToken, verifyEntitlement, type EntitlementExpectations, type SigningKey,
} from '../../shared/token.ts';
import { DevlicError, type ErrorCode } from '../../shared/errors.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import { DEVICE_AUTH_AUDIENCE, ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';

const ISSUER = 'https://licensing.example.test';
const NOW = 1_740_000_000;
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function claims(extra: Partial<EntitlementClaims> = {}): EntitlementClaims {
  return {
    iss: ISSUER, sub: 'dev_1', aud: ENTITLEMENT_AUDIENCE, iat: NOW, nbf: NOW - 300, exp: NOW + 90 * 86400, seq: 3,
    status: 'licensed', reason: 'ASSIGNED', product: 'M365_APPS_ENTERPRISE_DEVICE', productName: 'Microsoft 365 Apps for enterprise (device)',
    subscription: 'sub_1', group: 'grp_1', warnAt: NOW + 80 * 86400, refreshAfter: NOW + 86400, ...extra,
  };
}

const key: SigningKey = generateSigningKey();
const want = (extra: Partial<EntitlementExpectations> = {}): EntitlementExpectations => ({
  keys: new Map([[key.kid, key.publicKey]]), deviceId: 'dev_1', issuer: ISSUER, audience: ENTITLEMENT_AUDIENCE, ...extra,
});

async function rejects(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<DevlicError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DevlicError);
    expect((e as DevlicError).code).toBe(code);
    if (message) expect((e as DevlicError).message).toMatch(message);
    return e as DevlicError;
  }
  throw new Error(`expected ${code}, but the token was accepted`);
}

describe('entitlement tokens', () => {
  it('round-trips: the claims signed are the claims verified', async () => {
    const c = claims();
    const jws = await signEntitlement(key, c);
    expect(jws.split('.')).toHaveLength(3);
    expect(await verifyEntitlement(jws, want())).toEqual(c);
  });

  it('is a standard compact JWS: EdDSA, the key id, a devlic type', async () => {
    const jws = await signEntitlement(key, claims());
    const header = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', kid: key.kid, typ: 'devlic-entitlement+jwt' });
  });

  it('verifies an unlicensed answer too, and does not judge time (an expired token still verifies)', async () => {
    const c = claims({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, productName: null, subscription: null, group: null, exp: NOW - 10 });
    expect(await verifyEntitlement(await signEntitlement(key, c), want())).toEqual(c);
  });

  it('refuses a token signed by another key under a trusted kid', async () => {
    const other = generateSigningKey();
    const jws = await signEntitlement({ ...other, kid: key.kid }, claims());
    await rejects(verifyEntitlement(jws, want()), 'TOKEN_INVALID', /signature/);
  });

  it('refuses a token whose kid is not pinned, or has no kid', async () => {
    const other = generateSigningKey();
    await rejects(verifyEntitlement(await signEntitlement(other, claims()), want()), 'TOKEN_INVALID', /unknown key/);
    const noKid = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims()))).setProtectedHeader({ alg: 'EdDSA' }).sign(key.privateKey);
    await rejects(verifyEntitlement(noKid, want()), 'TOKEN_INVALID', /unknown key/);
  });

  it('accepts any of several pinned keys (rotation)', async () => {
    const next = generateSigningKey();
    const keys = new Map([[key.kid, key.publicKey], [next.kid, next.publicKey]]);
    expect((await verifyEntitlement(await signEntitlement(next, claims()), want({ keys }))).seq).toBe(3);
  });

  it('refuses a token for another device (sub)', async () => {
    const jws = await signEntitlement(key, claims({ sub: 'dev_2' }));
    await rejects(verifyEntitlement(jws, want()), 'TOKEN_INVALID', /another device/);
  });

  it('refuses a token from another issuer', async () => {
    const jws = await signEntitlement(key, claims({ iss: 'https://evil.test' }));
    await rejects(verifyEntitlement(jws, want()), 'TOKEN_INVALID', /issuer/);
  });

  it('refuses a token for another audience', async () => {
    const jws = await signEntitlement(key, claims({ aud: 'someone-else' }));
    await rejects(verifyEntitlement(jws, want()), 'TOKEN_INVALID', /audience/);
  });

  it('refuses a tampered payload (an unlicensed token edited to licensed)', async () => {
    const jws = await signEntitlement(key, claims({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' }));
    const [h, , s] = jws.split('.');
    const forged = `${h}.${b64(claims({ status: 'licensed', reason: 'ASSIGNED' }))}.${s}`;
    await rejects(verifyEntitlement(forged, want()), 'TOKEN_INVALID', /signature/);
    // A later exp with the old signature, too.
    const later = `${h}.${b64(claims({ exp: NOW + 999 * 86400 }))}.${s}`;
    await rejects(verifyEntitlement(later, want()), 'TOKEN_INVALID');
  });

  it('refuses a tampered signature and a tampered header', async () => {
    const jws = await signEntitlement(key, claims());
    const [h, p, s] = jws.split('.');
    // Flip a bit of a signature byte (not of the text: the last character's low bits are unused).
    const sig = Buffer.from(s, 'base64url');
    sig[10] ^= 0x01;
    await rejects(verifyEntitlement(`${h}.${p}.${sig.toString('base64url')}`, want()), 'TOKEN_INVALID', /signature/);
    const header2 = b64({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' });
    await rejects(verifyEntitlement(`${header2}.${p}.${s}`, want()), 'TOKEN_INVALID', /typ JWT is not an entitlement/);
  });

  it('refuses a second spelling of a valid signature (non-canonical base64url)', async () => {
    const jws = await signEntitlement(key, claims());
    const [h, p, s] = jws.split('.');
    // 64 bytes take 86 characters; the last one carries 2 bits of data and 4 unused ones.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = `${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1)!) ^ 1]}`;
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    await rejects(verifyEntitlement(`${h}.${p}.${twin}`, want()), 'TOKEN_INVALID', /canonical/);
    // Padding or standard-alphabet characters are other spellings too.
    await rejects(verifyEntitlement(`${h}.${p}.${s}==`, want()), 'TOKEN_INVALID', /canonical/);
    await rejects(verifyEntitlement(`${h}.${p}+.${s}`, want()), 'TOKEN_INVALID', /canonical/);
    // The genuine spelling still verifies.
    expect((await verifyEntitlement(jws, want())).sub).toBe(claims().sub);
  });

  it('refuses alg "none"', async () => {
    const none = `${b64({ alg: 'none', kid: key.kid })}.${b64(claims())}.`;
    await rejects(verifyEntitlement(none, want()), 'TOKEN_INVALID', /alg/);
  });

  it('refuses HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const h = b64({ alg: 'HS256', kid: key.kid });
    const p = b64(claims());
    const secret = key.publicKey.export({ format: 'der', type: 'spki' });
    const sig = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
    await rejects(verifyEntitlement(`${h}.${p}.${sig}`, want()), 'TOKEN_INVALID', /alg/);
  });

  it('refuses an oversized token before any parsing', async () => {
    await rejects(verifyEntitlement('a'.repeat(8193), want()), 'TOKEN_INVALID', /too large/);
    // Even one properly signed by the pinned key.
    const big = await signEntitlement(key, claims({ productName: 'x'.repeat(9000) }));
    await rejects(verifyEntitlement(big, want()), 'TOKEN_INVALID', /too large/);
  });

  it('refuses malformed input of every shape', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c', '..', `${b64('not json')}.${b64(claims())}.x`]) {
      await rejects(verifyEntitlement(bad, want()), 'TOKEN_INVALID');
    }
    await rejects(verifyEntitlement(undefined as unknown as string, want()), 'TOKEN_INVALID');
    await rejects(verifyEntitlement({ token: 'x' } as unknown as string, want()), 'TOKEN_INVALID');
  });

  it('refuses a correctly signed payload whose claims are malformed or not JSON', async () => {
    const sign = (payload: string) => new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).sign(key.privateKey);
    await rejects(verifyEntitlement(await sign('{"iss":'), want()), 'TOKEN_INVALID', /not JSON/);
    const { seq: _, ...noSeq } = claims();
    await rejects(verifyEntitlement(await sign(JSON.stringify(noSeq)), want()), 'TOKEN_INVALID', /malformed/);
    await rejects(verifyEntitlement(await sign(JSON.stringify(claims({ seq: 0 }))), want()), 'TOKEN_INVALID', /malformed/);
    await rejects(verifyEntitlement(await sign(JSON.stringify({ ...claims(), status: 'full' })), want()), 'TOKEN_INVALID', /malformed/);
  });
});

describe('device request tokens', () => {
  const device = generateKeyPairSync('ed25519');
  const verify = (jwt: string, opts: { pub?: KeyObject; id?: string; aud?: string; now?: number; max?: number } = {}) =>
    verifyDeviceRequestToken(jwt, opts.pub ?? device.publicKey, opts.id ?? 'dev_1', opts.aud ?? DEVICE_AUTH_AUDIENCE, opts.now ?? NOW, opts.max);

  it('round-trips and reports the expiry', async () => {
    const jwt = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW);
    expect(await verify(jwt)).toEqual({ exp: NOW + 300 });
    expect(unverifiedSubject(jwt)).toBe('dev_1');
  });

  it('gives every token a unique jti', async () => {
    const a = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW);
    const b = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW);
    expect(a).not.toBe(b);
  });

  it('refuses a token signed by another key', async () => {
    const other = generateKeyPairSync('ed25519');
    const jwt = await signDeviceRequestToken(other.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW);
    await rejects(verify(jwt), 'UNAUTHENTICATED', /rejected/);
  });

  it('refuses a second spelling of a valid token (non-canonical base64url)', async () => {
    const jwt = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = `${jwt.slice(0, -1)}${alphabet[alphabet.indexOf(jwt.at(-1)!) ^ 1]}`;
    await rejects(verify(twin), 'UNAUTHENTICATED', /canonical/);
    expect((await verify(jwt)).exp).toBe(NOW + 300);
  });

  it('refuses a token for another device', async () => {
    const jwt = await signDeviceRequestToken(device.privateKey, 'dev_2', DEVICE_AUTH_AUDIENCE, NOW);
    await rejects(verify(jwt), 'UNAUTHENTICATED');
  });

  it('refuses the wrong audience (an entitlement-audience token replayed at the API)', async () => {
    const jwt = await signDeviceRequestToken(device.privateKey, 'dev_1', ENTITLEMENT_AUDIENCE, NOW);
    await rejects(verify(jwt), 'UNAUTHENTICATED', /aud/);
  });

  it('refuses an expired token, allowing one minute of clock skew', async () => {
    const jwt = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW, 300);
    expect((await verify(jwt, { now: NOW + 300 + 30 })).exp).toBe(NOW + 300);
    await rejects(verify(jwt, { now: NOW + 300 + 61 }), 'UNAUTHENTICATED', /exp/);
    await rejects(verify(jwt, { now: NOW + 86400 }), 'UNAUTHENTICATED');
  });

  it('refuses a lifetime longer than allowed (default 15 minutes)', async () => {
    const ok = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW, 900);
    expect((await verify(ok)).exp).toBe(NOW + 900);
    const long = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW, 901);
    await rejects(verify(long), 'UNAUTHENTICATED', /lifetime/);
    const year = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW, 365 * 86400);
    await rejects(verify(year), 'UNAUTHENTICATED', /lifetime/);
    await rejects(verify(ok, { max: 300 }), 'UNAUTHENTICATED', /lifetime/);
  });

  it('refuses a token dated in the future (a short lifetime must not make it live long)', async () => {
    const ahead = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW + 365 * 86400, 300);
    await rejects(verify(ahead), 'UNAUTHENTICATED', /future/);
    // A device clock a few minutes fast still works.
    const fast = await signDeviceRequestToken(device.privateKey, 'dev_1', DEVICE_AUTH_AUDIENCE, NOW + 180, 300);
    expect((await verify(fast)).exp).toBe(NOW + 480);
  });

  it('refuses a token without exp or iat', async () => {
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('dev_1').setAudience(DEVICE_AUTH_AUDIENCE).setIssuedAt(NOW).sign(device.privateKey);
    await rejects(verify(noExp), 'UNAUTHENTICATED');
    const noIat = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('dev_1').setAudience(DEVICE_AUTH_AUDIENCE).setExpirationTime(NOW + 60).sign(device.privateKey);
    await rejects(verify(noIat), 'UNAUTHENTICATED');
  });

  it('refuses alg none and HS256', async () => {
    const payload = b64({ sub: 'dev_1', aud: DEVICE_AUTH_AUDIENCE, iat: NOW, exp: NOW + 60 });
    await rejects(verify(`${b64({ alg: 'none' })}.${payload}.`), 'UNAUTHENTICATED');
    const h = b64({ alg: 'HS256' });
    const sig = createHmac('sha256', device.publicKey.export({ format: 'der', type: 'spki' })).update(`${h}.${payload}`).digest('base64url');
    await rejects(verify(`${h}.${payload}.${sig}`), 'UNAUTHENTICATED');
  });

  it('unverifiedSubject returns null for anything that is not a small JWT with a string sub', () => {
    expect(unverifiedSubject('')).toBeNull();
    expect(unverifiedSubject('a.b')).toBeNull();
    expect(unverifiedSubject(`x.${b64('not json')}.y`)).toBeNull();
    expect(unverifiedSubject(`x.${b64({ sub: 5 })}.y`)).toBeNull();
    expect(unverifiedSubject(`x.${b64('null')}.y`)).toBeNull();
    expect(unverifiedSubject(`x.${b64({ sub: 'dev_1', pad: 'x'.repeat(3000) })}.y`)).toBeNull();
    expect(unverifiedSubject(`x.${b64({ sub: 'dev_9' })}.y`)).toBe('dev_9');
  });
});

describe('keys as JWK', () => {
  it('exports an Ed25519 public key as a JWK and imports it back', async () => {
    const jwk = await publicJwk(key.publicKey, key.kid);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: key.kid });
    expect(isEd25519Jwk(jwk)).toBe(true);
    const back = keyFromJwk(jwk);
    expect(back.export({ format: 'der', type: 'spki' }).equals(key.publicKey.export({ format: 'der', type: 'spki' }))).toBe(true);
    // The imported key verifies what the original private key signed.
    const jws = await signEntitlement(key, claims());
    expect((await verifyEntitlement(jws, want({ keys: new Map([[key.kid, back]]) }))).sub).toBe('dev_1');
  });

  it('leaves kid out when none is given', async () => {
    expect(await publicJwk(key.publicKey)).not.toHaveProperty('kid');
  });

  it('refuses to export a key that is not Ed25519', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(publicJwk(ec.publicKey)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('isEd25519Jwk refuses other key types, private parts and junk', async () => {
    const jwk = await publicJwk(key.publicKey);
    expect(isEd25519Jwk({ ...jwk, crv: 'X25519' })).toBe(false);
    expect(isEd25519Jwk({ ...jwk, d: 'secret' })).toBe(false);
    expect(isEd25519Jwk({ ...jwk, x: 'short' })).toBe(false);
    expect(isEd25519Jwk(null)).toBe(false);
    // A private key's JWK is never accepted as a public key.
    const priv = createPrivateKey(key.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    expect(isEd25519Jwk(priv.export({ format: 'jwk' }))).toBe(false);
  });
});
