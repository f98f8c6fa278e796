// The signing keyring's shape and the rules that hold wherever it is kept
// (a file in the data folder, or the shared database for replicas): the
// issuer name and every signing key the service has had, oldest first. The
// newest is the active key; older ones are "previous" (still published so
// tokens they signed verify until they expire) until an admin retires them.
// Each key after the first carries its chain link, signed by the key before
// it. Only the active key's private half is kept.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import Type from 'typebox';
import { DevlicError } from '../shared/errors.ts';
import type { SigningKey } from '../shared/token.ts';
import { Ed25519PublicJwk, type Jwks } from '../shared/schemas/device.ts';
import { isValid } from '../shared/validate.ts';

/** What the running service needs: the key it signs with and what it publishes. */
export interface ServiceKeys {
  issuer: string;
  signing: SigningKey;
  /** Active and previous (not retired) public keys, oldest first: the active key is last. */
  jwks: Jwks;
  /** Chain links, oldest first (schemas/keys.ts). */
  chain: string[];
}

export const StoredKey = Type.Object({
  kid: Type.String({ minLength: 1, maxLength: 128 }),
  created: Type.String(),
  retired: Type.Optional(Type.String()),
  publicKey: Ed25519PublicJwk,
  /** PKCS#8 PEM; only the active key has one. */
  privateKey: Type.Optional(Type.String()),
  /** The JWS by which the key before this one endorsed it. */
  link: Type.Optional(Type.String()),
});
export type StoredKey = Type.Static<typeof StoredKey>;

export const Keyring = Type.Object({
  version: Type.Literal(2),
  issuer: Type.String({ minLength: 1 }),
  keys: Type.Array(StoredKey, { minItems: 1 }),
});
export type Keyring = Type.Static<typeof Keyring>;

/** Most chain links published: an agent further behind than this must re-enroll. */
const MAX_CHAIN_LINKS = 64;

export type KeyState = 'active' | 'previous' | 'retired';

export const activeOf = (ring: Keyring): StoredKey => ring.keys[ring.keys.length - 1];

export function stateOf(ring: Keyring, k: StoredKey): KeyState {
  return k === activeOf(ring) ? 'active' : k.retired ? 'retired' : 'previous';
}

/** Validates a keyring read from `where`; a damaged one is refused, never repaired by guessing. */
export function checkKeyring(raw: unknown, where: string): Keyring {
  if (!isValid(Keyring, raw)) throw new DevlicError('CONFIG_INVALID', `signing key ${where} is damaged (not a devlic keyring)`);
  const active = activeOf(raw);
  if (active.retired || !active.privateKey) throw new DevlicError('CONFIG_INVALID', `signing key ${where} is damaged: the newest key ${active.kid} has no private key`);
  if (new Set(raw.keys.map((k) => k.kid)).size !== raw.keys.length) throw new DevlicError('CONFIG_INVALID', `signing key ${where} is damaged: repeated kid`);
  return raw;
}

export function toServiceKeys(ring: Keyring, where: string): ServiceKeys {
  const active = activeOf(ring);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(active.privateKey!);
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${where}: ${(e as Error).message}`);
  }
  const publicKey = createPublicKey(privateKey);
  if (publicKey.export({ format: 'jwk' }).x !== active.publicKey.x) {
    throw new DevlicError('CONFIG_INVALID', `signing key ${where} is damaged: key ${active.kid}'s halves do not match`);
  }
  return {
    issuer: ring.issuer,
    signing: { kid: active.kid, privateKey, publicKey },
    jwks: { keys: ring.keys.filter((k) => !k.retired).map((k) => ({ ...k.publicKey, kid: k.kid })) },
    chain: ring.keys.flatMap((k) => (k.link ? [k.link] : [])).slice(-MAX_CHAIN_LINKS),
  };
}

/**
 * Where a keyring is kept. `update` is an exclusive read-change-write: two
 * admins rotating at once (or two replicas creating the first key) cannot
 * both write and lose a key. The change returns the keyring to write, or
 * null to write nothing.
 */
export interface KeyringStore {
  /** For messages: the file, or "in the database". */
  readonly where: string;
  /** Shown when there is no keyring yet. */
  readonly missingHint: string;
  load(): Promise<Keyring | null>;
  update<T>(change: (ring: Keyring | null) => Promise<{ write: Keyring | null; out: T }>): Promise<T>;
}
