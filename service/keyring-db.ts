// The keyring kept in the shared database, so that every replica signs with
// the same keys and a rotation made on one is seen by all at their next
// start. The active private key is stored encrypted (AES-256-GCM) with the
// site key: 32 random bytes in `site-key` (0600) in each replica's data
// folder. The first replica to start on an empty database makes both; the
// others must be given a copy of its site key, like a TLS key. A database
// dump alone therefore does not hand out the signing key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DevlicError } from '../shared/errors.ts';
import { checkKeyring, type Keyring, type KeyringStore } from './keyring.ts';
import { readSecret, writeSecret } from './keyring-file.ts';
import type { SqlConn, SqlDatabase } from './store/sql.ts';

export const siteKeyFile = (dataDir: string) => join(dataDir, 'site-key');

const PREFIX = 'enc:v1:';

function parseSiteKey(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.length !== 32) throw new DevlicError('CONFIG_INVALID', `${file} is not a devlic site key (expected 32 bytes, base64url)`);
  return key;
}

/**
 * The site key, made (0600) only when `create` is set: i.e. when the
 * database has no keyring yet. `owner`: whom a new file belongs to (a
 * command run as root makes it for the service's user).
 */
export function siteKey(file: string, create: boolean, owner?: { uid: number; gid: number }): Buffer {
  const text = readSecret(file, 'site key');
  if (text !== null) return parseSiteKey(text, file);
  if (!create) {
    throw new DevlicError('CONFIG_INVALID', `the signing keys in the database are encrypted with the site key of the replica that made them, and ${file} does not exist: copy that replica's site-key file here (mode 0600)`);
  }
  const key = randomBytes(32);
  writeSecret(file, `${key.toString('base64url')}\n`, owner);
  return key;
}

export function sealPrivateKey(pem: string, kid: string, key: Buffer): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(`devlic-keyring:${kid}`));
  const ct = Buffer.concat([c.update(pem, 'utf8'), c.final()]);
  return `${PREFIX}${[iv, c.getAuthTag(), ct].map((b) => b.toString('base64url')).join('.')}`;
}

export function openPrivateKey(sealed: string, kid: string, key: Buffer, file: string): string {
  const parts = sealed.startsWith(PREFIX) ? sealed.slice(PREFIX.length).split('.') : [];
  if (parts.length !== 3) throw new DevlicError('CONFIG_INVALID', `the database's signing key ${kid} is damaged (not sealed with a site key)`);
  const [iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64url'));
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(Buffer.from(`devlic-keyring:${kid}`));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
  } catch {
    throw new DevlicError('CONFIG_INVALID', `${file} is not the site key the database's signing keys were sealed with: copy the site-key file of the replica that made them`);
  }
}

async function read(conn: SqlConn, file: string): Promise<Keyring | null> {
  const row = await conn.get<{ ring: string }>('SELECT ring FROM signing_keyring WHERE id = 1');
  if (!row) return null;
  let raw: { keys?: Array<{ kid: string; privateKey?: string }> };
  try {
    raw = JSON.parse(row.ring);
  } catch {
    throw new DevlicError('CONFIG_INVALID', 'the signing keyring in the database is damaged (not JSON)');
  }
  const key = siteKey(file, false);
  for (const k of raw.keys ?? []) if (k.privateKey) k.privateKey = openPrivateKey(k.privateKey, k.kid, key, file);
  return checkKeyring(raw, 'in the database');
}

/** Whether the database holds a keyring (without opening it: no site key needed). */
export async function hasDatabaseKeyring(conn: SqlConn): Promise<boolean> {
  return !!await conn.get('SELECT 1 AS x FROM signing_keyring WHERE id = 1');
}

/** Writes the keyring, its private key sealed with `key`, inside the caller's transaction. */
export async function writeDatabaseKeyring(tx: SqlConn, ring: Keyring, key: Buffer): Promise<void> {
  const sealed = { ...ring, keys: ring.keys.map((k) => (k.privateKey ? { ...k, privateKey: sealPrivateKey(k.privateKey, k.kid, key) } : k)) };
  await tx.run(`INSERT INTO signing_keyring (id, ring, updated_at) VALUES (1, ?, ?)
    ON CONFLICT (id) DO UPDATE SET ring = excluded.ring, updated_at = excluded.updated_at`, [JSON.stringify(sealed), new Date().toISOString()]);
}

export function databaseKeyring(db: SqlDatabase, dataDir: string): KeyringStore {
  const file = siteKeyFile(dataDir);
  return {
    where: 'in the database',
    missingHint: 'no signing key in the database; the service creates it on its first start (devlic-server serve --database ...)',
    load: () => read(db, file),
    update: (change) => db.transaction(async (tx) => {
      const ring = await read(tx, file);
      const { write, out } = await change(ring);
      if (write) await writeDatabaseKeyring(tx, write, siteKey(file, ring === null));
      return out;
    }),
  };
}
