// The files kept beside the database, deliberately outside it: the device's
// private key (0600), identity.json (device id, server, pinned service keys;
// 0600) and watermark.json (highest entitlement seq accepted). Pinned keys
// live here so that editing agent.db can never swap in an attacker's key, and
// the watermark so that copying an older genuine token into agent.db is
// recognised as a replay.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Type from 'typebox';
import { DeviceFacts, Jwks } from '../../shared/schemas/device.ts';
import { isValid } from '../../shared/validate.ts';
import { keyFromJwk } from '../../shared/token.ts';
import { writeFileAtomic } from '../host/fsutil.ts';
import { AgentError } from '../errors.ts';

export const Revocation = Type.Object({
  at: Type.String(),
  httpStatus: Type.Integer(),
  code: Type.String(),
  message: Type.String(),
});
export type Revocation = Type.Static<typeof Revocation>;

export const StoredIdentity = Type.Object({
  version: Type.Literal(1),
  deviceId: Type.String({ minLength: 1 }),
  server: Type.String({ minLength: 1 }),
  issuer: Type.String(),
  audience: Type.String(),
  keys: Jwks,
  facts: DeviceFacts,
  enrolledAt: Type.String(),
  reenrolled: Type.Boolean(),
  caFile: Type.Optional(Type.String()),
  allowInsecureHttp: Type.Optional(Type.Boolean()),
  revoked: Type.Optional(Revocation),
});
export type StoredIdentity = Type.Static<typeof StoredIdentity>;

export const Watermark = Type.Object({
  deviceId: Type.String(),
  seq: Type.Integer({ minimum: 0 }),
  iatMs: Type.Integer({ minimum: 0 }),
});
export type Watermark = Type.Static<typeof Watermark>;

function readJson(path: string): unknown | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AgentError(`${path} is not valid JSON`, "re-enroll with 'devlic-agent enroll --server URL --token T'");
  }
}

/** The stored enrollment, or null when the device is not enrolled. */
export function readIdentity(path: string): StoredIdentity | null {
  const v = readJson(path);
  if (v === undefined) return null;
  if (!isValid(StoredIdentity, v)) {
    throw new AgentError(`${path} is damaged`, "re-enroll with 'devlic-agent enroll --server URL --token T'");
  }
  return v;
}

export function writeIdentity(path: string, id: StoredIdentity): void {
  writeFileAtomic(path, JSON.stringify(id, null, 2) + '\n', 0o600);
}

const keyCache = new WeakMap<StoredIdentity['keys'], Map<string, KeyObject>>();

/** The pinned service keys by kid, as verifyEntitlement wants them (imported once per identity). */
export function pinnedKeys(id: StoredIdentity): Map<string, KeyObject> {
  let m = keyCache.get(id.keys);
  if (!m) {
    m = new Map<string, KeyObject>();
    for (const k of id.keys.keys) if (k.kid) m.set(k.kid, keyFromJwk(k));
    keyCache.set(id.keys, m);
  }
  return m;
}

export function readWatermark(path: string): Watermark | null {
  const v = readJson(path);
  return v !== undefined && isValid(Watermark, v) ? v : null;
}

export function writeWatermark(path: string, w: Watermark): void {
  writeFileAtomic(path, JSON.stringify(w) + '\n', 0o600);
}

/**
 * Highest user-entitlement seq accepted per person (issue 16), beside the
 * device's watermark and for the same reason: an older genuine user token
 * copied into agent.db is recognised as a replay.
 */
export const UserWatermarks = Type.Object({
  deviceId: Type.String(),
  users: Type.Record(Type.String(), Type.Object({ seq: Type.Integer({ minimum: 0 }), iatMs: Type.Integer({ minimum: 0 }) })),
});
export type UserWatermarks = Type.Static<typeof UserWatermarks>;

export function readUserWatermarks(path: string): UserWatermarks | null {
  const v = readJson(path);
  return v !== undefined && isValid(UserWatermarks, v) ? v : null;
}

export function writeUserWatermarks(path: string, w: UserWatermarks): void {
  writeFileAtomic(path, JSON.stringify(w) + '\n', 0o600);
}

export function readDeviceKey(path: string): KeyObject {
  try {
    return createPrivateKey(readFileSync(path));
  } catch (e) {
    throw new AgentError(`cannot read the device key ${path}: ${(e as Error).message}`, "re-enroll with 'devlic-agent enroll --server URL --token T'");
  }
}

export function writeDeviceKey(path: string, key: KeyObject): void {
  writeFileAtomic(path, key.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
}
