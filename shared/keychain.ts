// Signing-key rotation, the trust rule both sides share. The service endorses
// each new signing key with the key before it (a chain link, see
// schemas/keys.ts); the agent moves its pins forward only by links signed by
// its NEWEST pinned key (its tip), one step at a time. So a device trusts a
// new key only through keys it already trusted, an old (perhaps retired and
// leaked) key cannot endorse anything for a device that has moved past it,
// and the result does not depend on the order or repetition of the links.
// Pure apart from the signature arithmetic: no I/O.
import type { KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import { DevlicError } from './errors.ts';
import { KEY_LINK_TYP, KeyLinkClaims } from './schemas/keys.ts';
import type { Ed25519PublicJwk } from './schemas/device.ts';
import { keyFromJwk } from './token.ts';
import { isValid } from './validate.ts';

/** The link by which `signer` (the key in use until now) endorses `next`. */
export async function signKeyLink(signer: { kid: string; privateKey: KeyObject }, next: Ed25519PublicJwk, issuer: string, nowSeconds: number): Promise<string> {
  if (!next.kid) throw new DevlicError('KEY_CHAIN_INVALID', 'a key without a kid cannot be endorsed');
  const claims: KeyLinkClaims = { iss: issuer, prev: signer.kid, key: next, iat: nowSeconds };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'EdDSA', kid: signer.kid, typ: KEY_LINK_TYP })
    .sign(signer.privateKey);
}

export type ChainFailure = 'NO_PINNED_KEY' | 'BAD_LINK' | 'FORK' | 'LOOP' | 'NOT_ENDORSED';

function refuse(reason: ChainFailure, message: string): never {
  throw new DevlicError('KEY_CHAIN_INVALID', message, { reason });
}

/** The signer kid named in a link's header, or null for anything that is not a link. */
function linkSigner(jws: string): string | null {
  try {
    const h = decodeProtectedHeader(jws);
    return h.typ === KEY_LINK_TYP && typeof h.kid === 'string' ? h.kid : null;
  } catch {
    return null;
  }
}

async function openLink(jws: string, tip: Ed25519PublicJwk & { kid: string }, issuer: string): Promise<Ed25519PublicJwk & { kid: string }> {
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, keyFromJwk(tip), { algorithms: ['EdDSA'] }));
  } catch {
    refuse('BAD_LINK', `a key-chain link claiming to be signed by trusted key ${tip.kid} does not verify`);
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    refuse('BAD_LINK', `a key-chain link signed by ${tip.kid} is not JSON`);
  }
  if (!isValid(KeyLinkClaims, claims) || !claims.key.kid) refuse('BAD_LINK', `a key-chain link signed by ${tip.kid} is malformed`);
  if (claims.prev !== tip.kid) refuse('BAD_LINK', `a key-chain link signed by ${tip.kid} names ${claims.prev} as its signer`);
  if (claims.iss !== issuer) refuse('BAD_LINK', `a key-chain link signed by ${tip.kid} is for issuer ${claims.iss}, not ${issuer}`);
  return claims.key as Ed25519PublicJwk & { kid: string };
}

/**
 * Walks the chain forward from the newest pinned key (the last in `pinned`)
 * and returns the keys it endorses, in order, to be pinned after the existing
 * ones. All or nothing: any bad link from a trusted tip, two different keys
 * endorsed by one tip (a fork: someone else holds a signing key), or a link
 * back to a key already trusted (a loop) refuses the whole chain. Links from
 * other keys are history the device has already passed (or noise) and are
 * ignored. With `want`, refuses unless that kid ends up trusted.
 */
export async function extendPins(opts: {
  pinned: readonly Ed25519PublicJwk[];
  issuer: string;
  links: readonly string[];
  want?: string;
}): Promise<(Ed25519PublicJwk & { kid: string })[]> {
  const withKid = opts.pinned.filter((k): k is Ed25519PublicJwk & { kid: string } => typeof k.kid === 'string');
  let tip = withKid.at(-1);
  if (!tip) refuse('NO_PINNED_KEY', 'no pinned signing key to start the key chain from');
  const trustedKids = new Set(withKid.map((k) => k.kid));
  const trustedX = new Set(withKid.map((k) => k.x));
  const bySigner = new Map<string, Set<string>>();
  for (const jws of new Set(opts.links)) {
    const signer = typeof jws === 'string' ? linkSigner(jws) : null;
    if (signer === null) continue;
    if (!bySigner.has(signer)) bySigner.set(signer, new Set());
    bySigner.get(signer)!.add(jws);
  }
  const added: (Ed25519PublicJwk & { kid: string })[] = [];
  // Each step consumes the tip's links, so this ends after at most one step per signer.
  for (let from = bySigner.get(tip.kid); from; from = bySigner.get(tip.kid)) {
    bySigner.delete(tip.kid);
    const endorsed = new Map<string, Ed25519PublicJwk & { kid: string }>();
    for (const jws of from) {
      const k = await openLink(jws, tip, opts.issuer);
      endorsed.set(`${k.kid}.${k.x}`, k);
    }
    if (endorsed.size > 1) {
      refuse('FORK', `trusted key ${tip.kid} endorses ${endorsed.size} different keys (${[...endorsed.values()].map((k) => k.kid).join(', ')}); the service never does that`);
    }
    const next = [...endorsed.values()][0];
    if (trustedKids.has(next.kid) || trustedX.has(next.x)) {
      refuse('LOOP', `key ${tip.kid} endorses ${next.kid}, which is already trusted (a loop back in the chain)`);
    }
    const { kid, x } = next;
    const clean: Ed25519PublicJwk & { kid: string } = { kty: 'OKP', crv: 'Ed25519', x, alg: 'EdDSA', use: 'sig', kid };
    added.push(clean);
    trustedKids.add(kid);
    trustedX.add(x);
    tip = clean;
  }
  if (opts.want !== undefined && !trustedKids.has(opts.want)) {
    refuse('NOT_ENDORSED', `signing key ${opts.want} is not endorsed by a chain from a key this device trusts (newest trusted: ${tip.kid})`);
  }
  return added;
}
