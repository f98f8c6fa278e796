// Signing and checking of the two kinds of token devlic uses:
// - entitlement tokens: compact JWS (EdDSA) signed by the service for one device;
// - device request tokens: short-lived JWTs signed by a device's own key to
//   authenticate it to the device API.
// Both are standard JOSE, so any JOSE library can verify them.
import { createPublicKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { compactVerify, exportJWK, SignJWT, jwtVerify, decodeProtectedHeader } from 'jose';
import { DevlicError } from './errors.ts';
import { EntitlementClaims, Ed25519PublicJwk } from './schemas/device.ts';
import { isValid } from './validate.ts';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid: randomBytes(8).toString('hex'), privateKey, publicKey };
}

export async function publicJwk(key: KeyObject, kid?: string): Promise<Ed25519PublicJwk> {
  const jwk = await exportJWK(key);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new DevlicError('TOKEN_INVALID', 'key is not an Ed25519 key');
  }
  const out: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, alg: 'EdDSA', use: 'sig' };
  if (kid) out.kid = kid;
  return out;
}

export function keyFromJwk(jwk: Ed25519PublicJwk): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

export const ENTITLEMENT_TYP = 'devlic-entitlement+jwt';

/**
 * The encoded protected header of every entitlement signed with `kid`: a
 * token starts with it (and a dot) exactly when that key signed it, which
 * lets the service spot tokens signed by an older key without parsing them.
 */
export function entitlementHeader(kid: string): string {
  return Buffer.from(JSON.stringify({ alg: 'EdDSA', kid, typ: ENTITLEMENT_TYP })).toString('base64url');
}

/** The kid in a compact JWS's header (unverified), or null. */
export function tokenKid(jws: string): string | null {
  try {
    const kid = decodeProtectedHeader(jws).kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}

/**
 * Signs an entitlement as a compact JWS. Built on node:crypto rather than
 * jose's CompactSign because the service signs in bursts (one assign wakes
 * thousands of long-polls) and jose costs about three times as much per
 * signature there; the output is plain RFC 7515 and the tests verify it with
 * jose's compactVerify against the published JWKS.
 */
export async function signEntitlement(key: SigningKey, claims: EntitlementClaims): Promise<string> {
  const header = entitlementHeader(key.kid);
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signingInput = `${header}.${payload}`;
  return `${signingInput}.${cryptoSign(null, Buffer.from(signingInput), key.privateKey).toString('base64url')}`;
}

export interface EntitlementExpectations {
  /** Trusted public keys by kid: the agent's pinned keys. */
  keys: ReadonlyMap<string, KeyObject>;
  deviceId: string;
  issuer: string;
  audience?: string;
}

/**
 * Checks an entitlement token's signature, issuer, audience, subject and claim
 * shape. Time (`nbf`/`exp`) is NOT checked here: the agent judges time with its
 * own trusted clock in `decide`, and must still be able to show an expired token.
 */
export async function verifyEntitlement(jws: string, want: EntitlementExpectations): Promise<EntitlementClaims> {
  if (typeof jws !== 'string' || jws.length > 8192) {
    throw new DevlicError('TOKEN_INVALID', 'entitlement token is missing or too large');
  }
  assertCanonicalCompact(jws, 'entitlement token');
  let kid: unknown;
  try {
    const header = decodeProtectedHeader(jws);
    if (header.alg !== 'EdDSA') throw new Error(`alg ${String(header.alg)} is not allowed`);
    // Another kind of JWS signed by the same key (a key-chain link) is not an entitlement.
    if (header.typ !== undefined && header.typ !== ENTITLEMENT_TYP) throw new Error(`typ ${String(header.typ)} is not an entitlement`);
    kid = header.kid;
  } catch (e) {
    throw new DevlicError('TOKEN_INVALID', `entitlement token is malformed: ${(e as Error).message}`);
  }
  const key = typeof kid === 'string' ? want.keys.get(kid) : undefined;
  if (!key) throw new DevlicError('TOKEN_INVALID', `entitlement token is signed by an unknown key (kid ${String(kid)})`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key, { algorithms: ['EdDSA'] }));
  } catch {
    throw new DevlicError('TOKEN_INVALID', 'entitlement token signature does not verify');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new DevlicError('TOKEN_INVALID', 'entitlement token payload is not JSON');
  }
  if (!isValid(EntitlementClaims, claims)) throw new DevlicError('TOKEN_INVALID', 'entitlement token claims are malformed');
  if (claims.iss !== want.issuer) throw new DevlicError('TOKEN_INVALID', `entitlement token issuer ${claims.iss} is not ${want.issuer}`);
  if (want.audience && claims.aud !== want.audience) throw new DevlicError('TOKEN_INVALID', 'entitlement token audience is wrong');
  if (claims.sub !== want.deviceId) throw new DevlicError('TOKEN_INVALID', `entitlement token is for another device (${claims.sub})`);
  return claims;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Refuses a compact JWS/JWT whose three parts are not canonical base64url.
 * Decoders ignore the unused low bits of the last character, so without this
 * one signature has several spellings: a token edited in those bits would
 * still verify, and caches or replay checks keyed by the token text would see
 * a "new" token. One signature, one spelling.
 */
export function assertCanonicalCompact(compact: string, what: string): void {
  const parts = compact.split('.');
  if (parts.length !== 3) throw new DevlicError('TOKEN_INVALID', `${what} must have three dot-separated parts`);
  for (const part of parts) {
    if (!BASE64URL.test(part) || Buffer.from(part, 'base64url').toString('base64url') !== part) {
      throw new DevlicError('TOKEN_INVALID', `${what} is not canonical base64url (edited or mis-encoded)`);
    }
  }
}

/** A device's request token: sub = device id, lifetime a few minutes. */
export async function signDeviceRequestToken(
  privateKey: KeyObject, deviceId: string, audience: string, nowSeconds: number, lifetimeSeconds = 300,
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(deviceId)
    .setAudience(audience)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + lifetimeSeconds)
    .setJti(randomBytes(8).toString('hex'))
    .sign(privateKey);
}

/** Reads the unverified subject of a device request token, to find the device's key. */
export function unverifiedSubject(jwt: string): string | null {
  const parts = jwt.split('.');
  if (parts.length !== 3 || parts[1].length > 2048) return null;
  try {
    const body = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof body?.sub === 'string' ? body.sub : null;
  } catch {
    return null;
  }
}

export async function verifyDeviceRequestToken(
  jwt: string, publicKey: KeyObject, deviceId: string, audience: string, nowSeconds: number, maxLifetimeSeconds = 900,
): Promise<{ exp: number }> {
  try {
    assertCanonicalCompact(jwt, 'device request token');
    const { payload } = await jwtVerify(jwt, publicKey, {
      algorithms: ['EdDSA'], audience, subject: deviceId, currentDate: new Date(nowSeconds * 1000), clockTolerance: 60,
    });
    if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > maxLifetimeSeconds) {
      throw new Error('lifetime too long');
    }
    // exp - iat alone does not bound a token whose iat is in the future (jose checks iat only with
    // maxTokenAge): a token stamped a year ahead would be replayable for a year. Bound what is left of
    // its life by our clock; a device clock a few minutes fast still passes.
    if (payload.exp > nowSeconds + maxLifetimeSeconds + 60) throw new Error('expires too far in the future (is the device clock ahead?)');
    return { exp: payload.exp };
  } catch (e) {
    throw new DevlicError('UNAUTHENTICATED', `device request token rejected: ${(e as Error).message}`);
  }
}

export function isEd25519Jwk(v: unknown): v is Ed25519PublicJwk {
  return isValid(Ed25519PublicJwk, v);
}
