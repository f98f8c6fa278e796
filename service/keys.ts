// The service's signing keys: made on the first start, rotated and retired by
// `devlic-server keys`, wherever the keyring is kept (keyring-file.ts for a
// single service on SQLite, keyring-db.ts for replicas sharing PostgreSQL).
// A running service reads the keyring when it starts; `keys rotate` /
// `retire` take effect at its next start (on replicas: a rolling restart,
// during which old and new keys are both published and trusted).
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { DevlicError } from '../shared/errors.ts';
import { generateSigningKey, publicJwk } from '../shared/token.ts';
import { signKeyLink } from '../shared/keychain.ts';
import { activeOf, stateOf, toServiceKeys, type KeyringStore, type KeyState, type ServiceKeys } from './keyring.ts';
import { fileKeyring, writeSecret } from './keyring-file.ts';

export type { KeyState, ServiceKeys } from './keyring.ts';
export { keyringFile } from './keyring-file.ts';

/** Most keys published at once (the JWKS schema's limit). */
export const MAX_PUBLISHED_KEYS = 16;

export interface KeyInfo { kid: string; created: string; state: KeyState; retired: string | null }

/** A data folder means its keyring file. */
const storeOf = (where: string | KeyringStore): KeyringStore => (typeof where === 'string' ? fileKeyring(where) : where);

const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }) as string;

/** At service start: the keyring, created with a first key on the very first start. */
export async function loadOrCreateKeys(where: string | KeyringStore, now = Date.now()): Promise<ServiceKeys> {
  const store = storeOf(where);
  const ring = await store.load() ?? await store.update(async (current) => {
    // Another replica may have made it between load() and the lock.
    if (current) return { write: null, out: current };
    const k = generateSigningKey();
    const made = {
      version: 2 as const, issuer: `urn:devlic:server:${randomUUID()}`,
      keys: [{ kid: k.kid, created: new Date(now).toISOString(), publicKey: await publicJwk(k.publicKey, k.kid), privateKey: pem(k.privateKey) }],
    };
    return { write: made, out: made };
  });
  return toServiceKeys(ring, store.where);
}

export async function listKeys(where: string | KeyringStore): Promise<KeyInfo[]> {
  const store = storeOf(where);
  const ring = await store.load();
  if (!ring) throw new DevlicError('NOT_FOUND', store.missingHint);
  return ring.keys.map((k) => ({ kid: k.kid, created: k.created, state: stateOf(ring, k), retired: k.retired ?? null }));
}

/** Makes a new active key, endorsed by the current one; the current one becomes "previous". */
export async function rotateKey(where: string | KeyringStore, now = Date.now()): Promise<{ kid: string; previous: string; created: string }> {
  const store = storeOf(where);
  return store.update(async (ring) => {
    if (!ring) throw new DevlicError('NOT_FOUND', store.missingHint);
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
    return { write: ring, out: { kid: k.kid, previous: old.kid, created } };
  });
}

/** Stops publishing an older key. The active key cannot be retired: rotate first. */
export async function retireKey(where: string | KeyringStore, kid: string, now = Date.now()): Promise<KeyInfo & { alreadyRetired: boolean }> {
  const store = storeOf(where);
  return store.update(async (ring) => {
    if (!ring) throw new DevlicError('NOT_FOUND', store.missingHint);
    const k = ring.keys.find((x) => x.kid === kid);
    if (!k) throw new DevlicError('NOT_FOUND', `no signing key ${kid} (see devlic-server keys list)`);
    if (k === activeOf(ring)) throw new DevlicError('CONFLICT', `${kid} is the active signing key; rotate first (devlic-server keys rotate), then retire it`);
    const alreadyRetired = k.retired !== undefined;
    k.retired ??= new Date(now).toISOString();
    delete k.privateKey;
    return { write: alreadyRetired ? null : ring, out: { kid, created: k.created, state: 'retired' as const, retired: k.retired, alreadyRetired } };
  });
}

export function writeAdminToken(dataDir: string, token: string): string {
  const file = join(dataDir, 'admin-token');
  writeSecret(file, `${token}\n`);
  return file;
}
