// The keyring kept as `signing-key.json` (0600) in the data folder: the
// single-process (SQLite) service's home for its signing keys. Writes go
// through a temp file and rename; a lock file keeps two key commands apart.
import { chownSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, chmodSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import Type from 'typebox';
import { DevlicError } from '../shared/errors.ts';
import { isValid } from '../shared/validate.ts';
import { checkKeyring, type Keyring, type KeyringStore } from './keyring.ts';

export const keyringFile = (dataDir: string) => join(dataDir, 'signing-key.json');

/** The single-key file of earlier versions, read and upgraded on the next write. */
const LegacyKeyFile = Type.Object({ issuer: Type.String({ minLength: 1 }), kid: Type.String({ minLength: 1 }), privateKey: Type.String() });

export function writeSecret(file: string, text: string, owner?: { uid: number; gid: number }): void {
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

/** Reads a secret file that must not be readable by others; null when it does not exist. */
export function readSecret(file: string, what: string): string | null {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DevlicError('CONFIG_INVALID', `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  const mode = st.mode & 0o777;
  if (process.platform !== 'win32' && mode & 0o077) {
    throw new DevlicError('CONFIG_INVALID', `${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
  }
  return readFileSync(file, 'utf8');
}

function readKeyring(file: string): Keyring | null {
  const text = readSecret(file, 'signing key');
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${file}: ${(e as Error).message}`);
  }
  if (isValid(LegacyKeyFile, raw)) return upgrade(raw, statSync(file).mtime.toISOString(), file);
  return checkKeyring(raw, file);
}

function upgrade(old: Type.Static<typeof LegacyKeyFile>, created: string, file: string): Keyring {
  let x: string | undefined;
  try {
    x = createPublicKey(createPrivateKey(old.privateKey)).export({ format: 'jwk' }).x;
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${file}: ${(e as Error).message}`);
  }
  return {
    version: 2, issuer: old.issuer,
    keys: [{ kid: old.kid, created, publicKey: { kty: 'OKP', crv: 'Ed25519', x: x!, alg: 'EdDSA', use: 'sig', kid: old.kid }, privateKey: old.privateKey }],
  };
}

export function fileKeyring(dataDir: string): KeyringStore {
  const file = keyringFile(dataDir);
  return {
    where: file,
    missingHint: `no signing key in ${dataDir}; the service creates it on its first start (devlic-server serve)`,
    load: async () => readKeyring(file),
    async update(change) {
      const lock = `${file}.lock`;
      let fd: number;
      try {
        fd = openSync(lock, 'wx', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new DevlicError('CONFLICT', `another key command is running (lock ${lock}); if none is, remove that file`);
        }
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DevlicError('NOT_FOUND', this.missingHint);
        throw new DevlicError('CONFIG_INVALID', `cannot lock ${file}: ${(e as Error).message}`);
      }
      closeSync(fd);
      try {
        const ring = readKeyring(file);
        const owner = ring ? statSync(file) : undefined;
        const { write, out } = await change(ring);
        if (write) writeSecret(file, JSON.stringify(write, null, 2), owner && { uid: owner.uid, gid: owner.gid });
        return out;
      } finally {
        unlinkSync(lock);
      }
    },
  };
}
