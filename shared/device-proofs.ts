// Two signed statements about which device a key belongs to:
// - the enroll proof: a re-enrolling agent signs, with its CURRENT device key,
//   "device D may now use the key with thumbprint T" (short-lived). Without it
//   the service never hands an existing device id to an enrollment: hardware
//   facts are readable by any local user, a key is not.
// - the merge notice: the service signs "device N was merged into device O"
//   for the agent still using the retired id N, so it can move to O without
//   trusting an unsigned answer (a forged move could make it accept another
//   device's genuine entitlement).
// Both are plain JWTs (jose) with their own `typ`, so neither can pass for
// the other or for an entitlement or request token.
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { ENROLL_PROOF_AUDIENCE, ENTITLEMENT_AUDIENCE } from './api.ts';
import { DevlicError } from './errors.ts';
import type { Ed25519PublicJwk } from './schemas/device.ts';
import { Id } from './schemas/common.ts';
import { isValid } from './validate.ts';
import type { SigningKey } from './token.ts';

export const ENROLL_PROOF_TYP = 'devlic-enroll-proof+jwt';
export const MERGE_NOTICE_TYP = 'devlic-device-merged+jwt';
/** How long an enroll proof is good for: long enough for one enroll round trip with retries. */
export const ENROLL_PROOF_LIFETIME_S = 120;
/** Clock difference tolerated between agent and service for a proof. */
const PROOF_CLOCK_TOLERANCE_S = 30;

/** RFC 7638 thumbprint of an Ed25519 public key (only kty, crv, x count). */
export function keyThumbprint(jwk: Ed25519PublicJwk): Promise<string> {
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'sha256');
}

/** Signed by the device's current key: binds the new public key to its device id for a short while. */
export async function signEnrollProof(currentKey: KeyObject, deviceId: string, newPublicKey: Ed25519PublicJwk, nowSeconds: number): Promise<string> {
  return new SignJWT({ cnf: { jkt: await keyThumbprint(newPublicKey) } })
    .setProtectedHeader({ alg: 'EdDSA', typ: ENROLL_PROOF_TYP })
    .setSubject(deviceId)
    .setAudience(ENROLL_PROOF_AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ENROLL_PROOF_LIFETIME_S)
    .setJti(randomBytes(12).toString('base64url'))
    .sign(currentKey);
}

/**
 * Checks an enroll proof against the device's current public key and the key
 * being enrolled. Throws ENROLL_PROOF_INVALID saying why. A proof cannot bind
 * another key (the thumbprint is signed), is dead after its short window, and
 * inside the window it is dead after one use: using it replaces the key that
 * signed it.
 */
export async function verifyEnrollProof(
  proof: string, want: { currentKey: KeyObject; deviceId: string; newPublicKey: Ed25519PublicJwk; nowSeconds: number },
): Promise<void> {
  let payload;
  try {
    ({ payload } = await jwtVerify(proof, want.currentKey, {
      algorithms: ['EdDSA'], typ: ENROLL_PROOF_TYP, audience: ENROLL_PROOF_AUDIENCE, subject: want.deviceId,
      currentDate: new Date(want.nowSeconds * 1000), clockTolerance: PROOF_CLOCK_TOLERANCE_S,
      requiredClaims: ['iat', 'exp', 'jti', 'cnf'],
    }));
  } catch (e) {
    throw new DevlicError('ENROLL_PROOF_INVALID', `enroll proof rejected: ${(e as Error).message}`);
  }
  const iat = payload.iat!;
  const exp = payload.exp!;
  if (exp - iat > ENROLL_PROOF_LIFETIME_S || iat > want.nowSeconds + PROOF_CLOCK_TOLERANCE_S) {
    throw new DevlicError('ENROLL_PROOF_INVALID', 'enroll proof rejected: its time window is too long or in the future (is the device clock right?)');
  }
  const jkt = (payload.cnf as { jkt?: unknown } | undefined)?.jkt;
  if (typeof jkt !== 'string' || jkt !== await keyThumbprint(want.newPublicKey)) {
    throw new DevlicError('ENROLL_PROOF_INVALID', 'enroll proof rejected: it was signed for another public key');
  }
}

export interface MergeNotice { retiredId: string; mergedInto: string; issuedAt: number }

/** Signed by the service for the agent that still uses a retired (merged) device id. */
export async function signMergeNotice(key: SigningKey, issuer: string, retiredId: string, mergedInto: string, nowSeconds: number): Promise<string> {
  return new SignJWT({ mergedInto })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: MERGE_NOTICE_TYP })
    .setIssuer(issuer)
    .setAudience(ENTITLEMENT_AUDIENCE)
    .setSubject(retiredId)
    .setIssuedAt(nowSeconds)
    .sign(key.privateKey);
}

/** Checks a merge notice against the agent's pinned service keys; it must be about this device. */
export async function verifyMergeNotice(
  notice: unknown, want: { keys: ReadonlyMap<string, KeyObject>; issuer: string; deviceId: string },
): Promise<MergeNotice> {
  if (typeof notice !== 'string' || notice.length > 4096) throw new DevlicError('TOKEN_INVALID', 'merge notice is missing or too large');
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(notice).kid;
  } catch (e) {
    throw new DevlicError('TOKEN_INVALID', `merge notice is malformed: ${(e as Error).message}`);
  }
  const key = typeof kid === 'string' ? want.keys.get(kid) : undefined;
  if (!key) throw new DevlicError('TOKEN_INVALID', `merge notice is signed by an unknown key (kid ${String(kid)})`);
  let payload;
  try {
    ({ payload } = await jwtVerify(notice, key, {
      algorithms: ['EdDSA'], typ: MERGE_NOTICE_TYP, issuer: want.issuer, audience: ENTITLEMENT_AUDIENCE, subject: want.deviceId,
      requiredClaims: ['iat'],
    }));
  } catch (e) {
    throw new DevlicError('TOKEN_INVALID', `merge notice rejected: ${(e as Error).message}`);
  }
  if (!isValid(Id, payload.mergedInto) || payload.mergedInto === want.deviceId) {
    throw new DevlicError('TOKEN_INVALID', 'merge notice names no valid device to move to');
  }
  return { retiredId: want.deviceId, mergedInto: payload.mergedInto, issuedAt: payload.iat! };
}
