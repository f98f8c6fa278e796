// Authenticates device API requests: `Authorization: DevlicDevice <jwt>`,
// a short-lived JWT signed by the device's own Ed25519 key. Verified tokens
// are cached in memory (bounded) so a long-polling agent costs one signature
// check per token lifetime and no database read per request; re-enrolling a
// device (a new key) must call forget() so its old tokens stop working.
import type { KeyObject } from 'node:crypto';
import { DevlicError } from '../../shared/errors.ts';
import { DEVICE_AUTH_AUDIENCE, DEVICE_AUTH_SCHEME } from '../../shared/api.ts';
import { keyFromJwk, unverifiedSubject, verifyDeviceRequestToken } from '../../shared/token.ts';
import type { DB } from '../store/db.ts';

const CACHE_MAX = 200_000;

interface Cached { deviceId: string; exp: number }

export class DeviceAuthenticator {
  private readonly cache = new Map<string, Cached>();
  private readonly keys = new Map<string, { jwk: string; key: KeyObject }>();
  private readonly lookup;

  constructor(db: DB) {
    this.lookup = db.prepare('SELECT public_key FROM devices WHERE id = ?');
  }

  async authenticate(header: string | undefined, nowSeconds: number): Promise<string> {
    if (!header) throw new DevlicError('UNAUTHENTICATED', `missing Authorization header (expected '${DEVICE_AUTH_SCHEME} <token>')`);
    const space = header.indexOf(' ');
    if (space < 0 || header.slice(0, space) !== DEVICE_AUTH_SCHEME) {
      throw new DevlicError('UNAUTHENTICATED', `Authorization scheme must be ${DEVICE_AUTH_SCHEME}`);
    }
    const jwt = header.slice(space + 1).trim();
    const hit = this.cache.get(jwt);
    if (hit) {
      if (hit.exp > nowSeconds) return hit.deviceId;
      this.cache.delete(jwt);
    }
    const deviceId = unverifiedSubject(jwt);
    if (!deviceId) throw new DevlicError('UNAUTHENTICATED', 'device token is malformed');
    const row = this.lookup.get(deviceId) as { public_key: string } | undefined;
    if (!row) throw new DevlicError('UNAUTHENTICATED', 'unknown device; enroll it again with a new enrollment token');
    const { exp } = await verifyDeviceRequestToken(jwt, this.publicKey(deviceId, row.public_key), deviceId, DEVICE_AUTH_AUDIENCE, nowSeconds);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(jwt, { deviceId, exp });
    return deviceId;
  }

  /** Drops everything cached for a device (its key changed). */
  forget(deviceId: string): void {
    this.keys.delete(deviceId);
    for (const [jwt, c] of this.cache) if (c.deviceId === deviceId) this.cache.delete(jwt);
  }

  private publicKey(deviceId: string, jwk: string): KeyObject {
    const k = this.keys.get(deviceId);
    if (k && k.jwk === jwk) return k.key;
    const key = keyFromJwk(JSON.parse(jwk));
    this.keys.set(deviceId, { jwk, key });
    return key;
  }
}
