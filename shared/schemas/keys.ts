// The service's published key set and the chain that carries trust from one
// signing key to the next. Each link is a compact JWS signed by the key it
// follows (header kid = that key) over the next key's public JWK, so an agent
// can move its pins forward from a key it already trusts, and from no other.
import Type from 'typebox';
import { Ed25519PublicJwk, Jwks } from './device.ts';

/** `typ` of a chain link: never confused with an entitlement token (and vice versa). */
export const KEY_LINK_TYP = 'devlic-key-link+jwt';

/** Claims of one chain link: key `prev` endorses `key` for issuer `iss`. */
export const KeyLinkClaims = Type.Object({
  iss: Type.String({ minLength: 1, maxLength: 256 }),
  prev: Type.String({ minLength: 1, maxLength: 128 }),
  key: Ed25519PublicJwk,
  iat: Type.Integer({ minimum: 0 }),
}, { additionalProperties: false });
export type KeyLinkClaims = Type.Static<typeof KeyLinkClaims>;

/**
 * GET /.well-known/devlic-keys: the keys tokens may be signed with (active
 * last, then older ones not yet retired) and every link, oldest first,
 * including links from retired keys so an agent offline for several
 * rotations can still walk forward.
 */
export const KeySet = Type.Object({
  issuer: Type.String(),
  keys: Jwks,
  chain: Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 64 }),
}, { additionalProperties: false });
export type KeySet = Type.Static<typeof KeySet>;
