// The service's persistent secrets in its data folder: the bootstrap admin
// token file and the signing keyring `signing-key.json` (0600): the issuer
// name and every signing key the service has had, oldest first. The newest is
// the active key (tokens are signed with it); older ones are "previous" (still
// published so tokens they signed verify until they expire) until an admin
// retires them. Each key after the first carries its chain link, signed by
// the key before it when `keys rotate` made it. Only the active key's private
// half is kept: an older key never signs again, so there is nothing to steal.
// The running service reads the file at start only; `keys rotate` / `retire`
// take effect at its next start.
import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { chownSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, chmodSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Type from 'typebox';
import { DevlicError } from '../shared/errors.ts';
import { generateSigningKey, publicJwk, type SigningKey } from '../shared/token.ts';
import { signKeyLink } from '../shared/keychain.ts';
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

const StoredKey = Type.Object({
  kid: Type.String({ minLength: 1, maxLength: 128 }),
  created: Type.String(),
  retired: Type.Optional(Type.String()),
  publicKey: Ed25519PublicJwk,
  /** PKCS#8 PEM; only the active key has one. */
  privateKey: Type.Optional(Type.String()),
  /** The JWS by which the key before this one endorsed it. */
  link: Type.Optional(Type.String()),
});
type StoredKey = Type.Static<typeof StoredKey>;

const Keyring = Type.Object({
  version: Type.Literal(2),
  issuer: Type.String({ minLength: 1 }),
  keys: Type.Array(StoredKey, { minItems: 1 }),
});
type Keyring = Type.Static<typeof Keyring>;

/** The single-key file of earlier versions, read and upgraded on the next write. */
const LegacyKeyFile = Type.Object({ issuer: Type.String({ minLength: 1 }), kid: Type.String({ minLength: 1 }), privateKey: Type.String() });

/** Most keys published at once (the JWKS schema's limit). */
export const MAX_PUBLISHED_KEYS = 16;
/** Most chain links published: an agent further behind than this must re-enroll. */
const MAX_CHAIN_LINKS = 64;

export type KeyState = 'active' | 'previous' | 'retired';
export interface KeyInfo { kid: string; created: string; state: KeyState; retired: string | null }

export const keyringFile = (dataDir: string) => join(dataDir, 'signing-key.json');

function writeSecret(file: string, text: string, owner?: { uid: number; gid: number }): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  // `keys rotate` run as root must leave the file readable by the service's own user.
  if (owner && process.getuid?.() === 0) chownSync(tmp, owner.uid, owner.gid);
  try {
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* gone */ }
    throw e;
  }
}

const activeOf = (ring: Keyring): StoredKey => ring.keys[ring.keys.length - 1];

function readKeyring(file: string): Keyring | null {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${file}: ${(e as Error).message}`);
  }
  const mode = st.mode & 0o777;
  if (process.platform !== 'win32' && mode & 0o077) {
    throw new DevlicError('CONFIG_INVALID', `${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${file}: ${(e as Error).message}`);
  }
  if (isValid(LegacyKeyFile, raw)) return upgrade(raw, st.mtime.toISOString(), file);
  if (!isValid(Keyring, raw)) throw new DevlicError('CONFIG_INVALID', `signing key file ${file} is damaged (not a devlic keyring)`);
  const active = activeOf(raw);
  if (active.retired || !active.privateKey) throw new DevlicError('CONFIG_INVALID', `signing key file ${file} is damaged: the newest key ${active.kid} has no private key`);
  if (new Set(raw.keys.map((k) => k.kid)).size !== raw.keys.length) throw new DevlicError('CONFIG_INVALID', `signing key file ${file} is damaged: repeated kid`);
  return raw;
}

function upgrade(old: Type.Static<typeof LegacyKeyFile>, created: string, file: string): Keyring {
  const { x } = publicOf(old.privateKey, file).export({ format: 'jwk' });
  return {
    version: 2, issuer: old.issuer,
    keys: [{ kid: old.kid, created, publicKey: { kty: 'OKP', crv: 'Ed25519', x: x!, alg: 'EdDSA', use: 'sig', kid: old.kid }, privateKey: old.privateKey }],
  };
}

function publicOf(pem: string, file: string): KeyObject {
  try {
    return createPublicKey(createPrivateKey(pem));
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${file}: ${(e as Error).message}`);
  }
}

function serviceKeys(ring: Keyring, file: string): ServiceKeys {
  const active = activeOf(ring);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(active.privateKey!);
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${file}: ${(e as Error).message}`);
  }
  const publicKey = createPublicKey(privateKey);
  if (publicKey.export({ format: 'jwk' }).x !== active.publicKey.x) {
    throw new DevlicError('CONFIG_INVALID', `signing key file ${file} is damaged: key ${active.kid}'s halves do not match`);
  }
  return {
    issuer: ring.issuer,
    signing: { kid: active.kid, privateKey, publicKey },
    jwks: { keys: ring.keys.filter((k) => !k.retired).map((k) => ({ ...k.publicKey, kid: k.kid })) },
    chain: ring.keys.flatMap((k) => (k.link ? [k.link] : [])).slice(-MAX_CHAIN_LINKS),
  };
}

/** At service start: the keyring, created with a first key on the very first start. */
export async function loadOrCreateKeys(dataDir: string, now = Date.now()): Promise<ServiceKeys> {
  const file = keyringFile(dataDir);
  let ring = readKeyring(file);
  if (!ring) {
    const k = generateSigningKey();
    ring = {
      version: 2, issuer: `urn:devlic:server:${randomUUID()}`,
      keys: [{ kid: k.kid, created: new Date(now).toISOString(), publicKey: await publicJwk(k.publicKey, k.kid), privateKey: pem(k.privateKey) }],
    };
    writeSecret(file, JSON.stringify(ring, null, 2));
  }
  return serviceKeys(ring, file);
}

const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }) as string;

function stateOf(ring: Keyring, k: StoredKey): KeyState {
  return k === activeOf(ring) ? 'active' : k.retired ? 'retired' : 'previous';
}

/**
 * Runs a change of the keyring under an exclusive lock file, so two admins
 * rotating at once cannot both write and lose a key.
 */
async function changeKeyring<T>(dataDir: string, change: (ring: Keyring) => Promise<T> | T): Promise<T> {
  const file = keyringFile(dataDir);
  const lock = `${file}.lock`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new DevlicError('CONFLICT', `another key command is running (lock ${lock}); if none is, remove that file`);
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw noKeyring(dataDir);
    throw new DevlicError('CONFIG_INVALID', `cannot lock ${file}: ${(e as Error).message}`);
  }
  closeSync(fd);
  try {
    const ring = readKeyring(file);
    if (!ring) throw noKeyring(dataDir);
    const st = statSync(file);
    const out = await change(ring);
    writeSecret(file, JSON.stringify(ring, null, 2), { uid: st.uid, gid: st.gid });
    return out;
  } finally {
    unlinkSync(lock);
  }
}

function noKeyring(dataDir: string): DevlicError {
  return new DevlicError('NOT_FOUND', `no signing key in ${dataDir}; the service creates it on its first start (devlic-server serve)`);
}

export function listKeys(dataDir: string): KeyInfo[] {
  const ring = readKeyring(keyringFile(dataDir));
  if (!ring) throw noKeyring(dataDir);
  return ring.keys.map((k) => ({ kid: k.kid, created: k.created, state: stateOf(ring, k), retired: k.retired ?? null }));
}

/** Makes a new active key, endorsed by the current one; the current one becomes "previous". */
export async function rotateKey(dataDir: string, now = Date.now()): Promise<{ kid: string; previous: string; created: string }> {
  return changeKeyring(dataDir, async (ring) => {
    const published = ring.keys.filter((k) => !k.retired).length;
    if (published >= MAX_PUBLISHED_KEYS) {
      throw new DevlicError('CONFLICT', `${published} keys are still published; retire old ones first (devlic-server keys retire KID)`);
    }
    const old = activeOf(ring);
    let k = generateSigningKey();
    while (ring.keys.some((x) => x.kid === k.kid)) k = generateSigningKey();
    const pub = await publicJwk(k.publicKey, k.kid);
    const created = new Date(now).toISOString();
    const link = await signKeyLink({ kid: old.kid, privateKey: createPrivateKey(old.privateKey!) }, pub, ring.issuer, Math.floor(now / 1000));
    delete old.privateKey;
    ring.keys.push({ kid: k.kid, created, publicKey: pub, privateKey: pem(k.privateKey), link });
    return { kid: k.kid, previous: old.kid, created };
  });
}

/** Stops publishing an older key. The active key cannot be retired: rotate first. */
export async function retireKey(dataDir: string, kid: string, now = Date.now()): Promise<KeyInfo & { alreadyRetired: boolean }> {
  return changeKeyring(dataDir, (ring) => {
    const k = ring.keys.find((x) => x.kid === kid);
    if (!k) throw new DevlicError('NOT_FOUND', `no signing key ${kid} (see devlic-server keys list)`);
    if (k === activeOf(ring)) throw new DevlicError('CONFLICT', `${kid} is the active signing key; rotate first (devlic-server keys rotate), then retire it`);
    const alreadyRetired = k.retired !== undefined;
    k.retired ??= new Date(now).toISOString();
    delete k.privateKey;
    return { kid, created: k.created, state: 'retired' as const, retired: k.retired, alreadyRetired };
  });
}

export function writeAdminToken(dataDir: string, token: string): string {
  const file = join(dataDir, 'admin-token');
  writeSecret(file, `${token}\n`);
  return file;
}
