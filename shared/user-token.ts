// User entitlement tokens (issue 16): the compact JWS the service signs for
// one person signed in on one device. Same keys and checks as the device's
// entitlement (shared/token.ts), but its own `typ`, and a verifier that
// insists on it, so a user token can never pass as a device token (whose
// verifier refuses any other typ) nor the other way round; `sub` is the
// device and `user` the normalised sign-in name asked about, both checked.
// `person` (optional) names whose licence it is when a sign-in domain alias
// maps `user` to another spelling; it is never what a token is matched by.
import { compactVerify, decodeProtectedHeader } from 'jose';
import { sign as cryptoSign } from 'node:crypto';
import { DevlicError } from './errors.ts';
import { UserEntitlementClaims } from './schemas/user.ts';
import { isValid } from './validate.ts';
import { assertCanonicalCompact, type EntitlementExpectations, type SigningKey } from './token.ts';

export const USER_ENTITLEMENT_TYP = 'devlic-user-entitlement+jwt';

export async function signUserEntitlement(key: SigningKey, claims: UserEntitlementClaims): Promise<string> {
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: key.kid, typ: USER_ENTITLEMENT_TYP })).toString('base64url');
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${cryptoSign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/**
 * Checks a user token's signature, typ, issuer, audience, device and person.
 * Time, seq and status are decide()'s business (agent/decision/decide-user.ts).
 */
export async function verifyUserEntitlement(jws: string, want: EntitlementExpectations & { user: string }): Promise<UserEntitlementClaims> {
  if (typeof jws !== 'string' || jws.length > 8192) throw new DevlicError('TOKEN_INVALID', 'user entitlement token is missing or too large');
  assertCanonicalCompact(jws, 'user entitlement token');
  let kid: unknown;
  try {
    const header = decodeProtectedHeader(jws);
    if (header.alg !== 'EdDSA') throw new Error(`alg ${String(header.alg)} is not allowed`);
    // Required, unlike the device token's (older services sent none): a device token is no user token.
    if (header.typ !== USER_ENTITLEMENT_TYP) throw new Error(`typ ${String(header.typ)} is not a user entitlement`);
    kid = header.kid;
  } catch (e) {
    throw new DevlicError('TOKEN_INVALID', `user entitlement token is malformed: ${(e as Error).message}`);
  }
  const key = typeof kid === 'string' ? want.keys.get(kid) : undefined;
  if (!key) throw new DevlicError('TOKEN_INVALID', `user entitlement token is signed by an unknown key (kid ${String(kid)})`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key, { algorithms: ['EdDSA'] }));
  } catch {
    throw new DevlicError('TOKEN_INVALID', 'user entitlement token signature does not verify');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new DevlicError('TOKEN_INVALID', 'user entitlement token payload is not JSON');
  }
  if (!isValid(UserEntitlementClaims, claims)) throw new DevlicError('TOKEN_INVALID', 'user entitlement token claims are malformed');
  if (claims.iss !== want.issuer) throw new DevlicError('TOKEN_INVALID', `user entitlement token issuer ${claims.iss} is not ${want.issuer}`);
  if (want.audience && claims.aud !== want.audience) throw new DevlicError('TOKEN_INVALID', 'user entitlement token audience is wrong');
  if (claims.sub !== want.deviceId) throw new DevlicError('TOKEN_INVALID', `user entitlement token is for another device (${claims.sub})`);
  if (claims.user !== want.user) throw new DevlicError('TOKEN_INVALID', `user entitlement token is for ${claims.user}, not ${want.user}`);
  return claims;
}
