// The service's persistent secrets in its data folder: the Ed25519 signing
// key (with its kid and the issuer name it signs as), written 0600 on first
// start and loaded on every later start, so tokens stay verifiable across
// restarts; and the bootstrap admin token file.
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DevlicError } from '../shared/errors.ts';
import { generateSigningKey, type SigningKey } from '../shared/token.ts';

export interface ServiceKeys { issuer: string; signing: SigningKey }

function writeSecret(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function loadOrCreateKeys(dataDir: string): ServiceKeys {
  const file = join(dataDir, 'signing-key.json');
  if (!existsSync(file)) {
    const k = generateSigningKey();
    const issuer = `urn:devlic:server:${randomUUID()}`;
    writeSecret(file, JSON.stringify({ issuer, kid: k.kid, privateKey: k.privateKey.export({ format: 'pem', type: 'pkcs8' }) }, null, 2));
    return { issuer, signing: k };
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new DevlicError('CONFIG_INVALID', `${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    const privateKey = createPrivateKey(raw.privateKey);
    return { issuer: raw.issuer, signing: { kid: raw.kid, privateKey, publicKey: createPublicKey(privateKey) } };
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `cannot read signing key ${file}: ${(e as Error).message}`);
  }
}

export function writeAdminToken(dataDir: string, token: string): string {
  const file = join(dataDir, 'admin-token');
  writeSecret(file, `${token}\n`);
  return file;
}
