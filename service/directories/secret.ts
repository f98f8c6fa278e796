// Bind passwords at rest: sealed (AES-256-GCM) with the site key, the same
// 32-byte key in <data-dir>/site-key (0600) that seals the signing key of
// replicas in the database (keyring-db.ts). A database dump alone does not
// give out the directory password; each replica needs the site key file,
// which replicas need anyway. The associated data binds a sealed password to
// its directory's id, so it cannot be moved to another directory's row.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DevlicError } from '../../shared/errors.ts';
import { siteKey, siteKeyFile } from '../keyring-db.ts';

const PREFIX = 'enc:v1:';

export interface PasswordBox {
  seal(directoryId: string, password: string): string;
  open(directoryId: string, sealed: string): string;
}

/** Seals with the key given (pure: for tests and for the box below). */
export function sealWith(key: Buffer, directoryId: string, password: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(`devlic-directory:${directoryId}`));
  const ct = Buffer.concat([c.update(password, 'utf8'), c.final()]);
  return `${PREFIX}${[iv, c.getAuthTag(), ct].map((b) => b.toString('base64url')).join('.')}`;
}

export function openWith(key: Buffer, directoryId: string, sealed: string): string {
  const parts = sealed.startsWith(PREFIX) ? sealed.slice(PREFIX.length).split('.') : [];
  if (parts.length !== 3) throw new DevlicError('CONFIG_INVALID', `the bind password of directory ${directoryId} is damaged (not sealed)`);
  const [iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64url'));
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(Buffer.from(`devlic-directory:${directoryId}`));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]).toString('utf8');
  } catch {
    throw new DevlicError('CONFIG_INVALID', `the bind password of directory ${directoryId} cannot be opened with this data folder's site-key: copy the site-key file of the replica that stored it (or add the directory again)`);
  }
}

/**
 * The data folder's box. The site key is made on first use when there is
 * none (a SQLite site, or replicas whose keyring is in a file); replicas
 * sharing a database share their site-key file already.
 */
export function passwordBox(dataDir: string): PasswordBox {
  const file = siteKeyFile(dataDir);
  const key = () => siteKey(file, true);
  return {
    seal: (id, password) => sealWith(key(), id, password),
    open: (id, sealed) => openWith(key(), id, sealed),
  };
}
