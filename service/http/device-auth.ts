// Authenticates device API requests: `Authorization: DevlicDevice <jwt>`,
// a short-lived JWT signed by the device's own Ed25519 key. Verified tokens
// are cached in memory (bounded) so a long-polling agent costs one signature
// check per token lifetime and no database read per request; re-enrolling a
// device (a new key) must call forget() so its old tokens stop working.
// A device id retired by a merge is answered DEVICE_MERGED, with a notice
// signed by the service naming the id to use, but only to a request signed by
// the key the surviving device now holds (the merged agent's own key).
import type { KeyObject } from 'node:crypto';
import { DevlicError } from '../../shared/errors.ts';
import { DEVICE_AUTH_AUDIENCE, DEVICE_AUTH_SCHEME } from '../../shared/api.ts';
import { keyFromJwk, unverifiedSubject, verifyDeviceRequestToken } from '../../shared/token.ts';
import type { Store } from '../store/store.ts';

const CACHE_MAX = 200_000;
/** What authenticate() accepts before the token: the scheme up to the first space (it has none itself). */
const SCHEME_PREFIX = `${DEVICE_AUTH_SCHEME} `;

interface Cached { deviceId: string; exp: number }

/** Signs the notice that tells the agent of a retired id where its device went. */
export type MergeNoticeSigner = (retiredId: string, mergedInto: string) => Promise<string>;

export class DeviceAuthenticator {
  private readonly cache = new Map<string, Cached>();
  private readonly keys = new Map<string, { jwk: string; key: KeyObject }>();
  /** Bumped by forget(): a verification that started before must not fill the cache after. */
  private readonly generation = new Map<string, number>();
  private readonly store: Store;
  private readonly notice?: MergeNoticeSigner;

  constructor(store: Store, notice?: MergeNoticeSigner) {
    this.store = store;
    this.notice = notice;
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
    const gen = this.generation.get(deviceId) ?? 0;
    const publicKey = await this.store.devices.publicKey(deviceId);
    if (publicKey === null) return this.retired(jwt, deviceId, nowSeconds);
    const { exp } = await verifyDeviceRequestToken(jwt, this.publicKey(deviceId, publicKey), deviceId, DEVICE_AUTH_AUDIENCE, nowSeconds);
    // The key changed while this was checked: judge again against the new one.
    if ((this.generation.get(deviceId) ?? 0) !== gen) return this.authenticate(header, nowSeconds);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(jwt, { deviceId, exp });
    return deviceId;
  }

  /**
   * The device of a token authenticate() verified before and that has not
   * expired, without I/O or a promise (the 304 path); undefined means "ask
   * authenticate()", which judges everything else the same way as before.
   */
  cachedDevice(header: string | undefined, nowSeconds: number): string | undefined {
    if (header === undefined || !header.startsWith(SCHEME_PREFIX)) return undefined;
    const hit = this.cache.get(header.slice(SCHEME_PREFIX.length).trim());
    return hit !== undefined && hit.exp > nowSeconds ? hit.deviceId : undefined;
  }

  /** Drops everything cached (which devices changed is not known: a replica missed notifications). */
  forgetAll(): void {
    for (const id of this.keys.keys()) this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
    for (const c of this.cache.values()) this.generation.set(c.deviceId, (this.generation.get(c.deviceId) ?? 0) + 1);
    this.keys.clear();
    this.cache.clear();
  }

  /** Drops everything cached for a device (its key changed or it was merged away). */
  forget(deviceId: string): void {
    this.generation.set(deviceId, (this.generation.get(deviceId) ?? 0) + 1);
    this.keys.delete(deviceId);
    for (const [jwt, c] of this.cache) if (c.deviceId === deviceId) this.cache.delete(jwt);
  }

  /** An id not in the devices table: unknown, or retired by a merge (then told, signed, where it went). */
  private async retired(jwt: string, deviceId: string, nowSeconds: number): Promise<never> {
    const merged = await this.store.devices.mergedInto(deviceId);
    if (!merged || !this.notice) throw new DevlicError('UNAUTHENTICATED', 'unknown device; enroll it again with a new enrollment token');
    // Signed with the key the survivor holds now: only the merged agent learns where it went.
    await verifyDeviceRequestToken(jwt, keyFromJwk(JSON.parse(merged.public_key)), deviceId, DEVICE_AUTH_AUDIENCE, nowSeconds);
    throw new DevlicError('DEVICE_MERGED', `device ${deviceId} was merged into ${merged.id} by an administrator; use that id`,
      { deviceId: merged.id, notice: await this.notice(deviceId, merged.id) });
  }

  private publicKey(deviceId: string, jwk: string): KeyObject {
    const k = this.keys.get(deviceId);
    if (k && k.jwk === jwk) return k.key;
    const key = keyFromJwk(JSON.parse(jwk));
    this.keys.set(deviceId, { jwk, key });
    return key;
  }
}
