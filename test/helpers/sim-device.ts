// A light simulated device speaking the real device protocol (enroll,
// device-signed requests, entitlement with ETag/long-poll, status report).
// Used by service tests and benchmarks that need many devices; the real
// agent is tested with its own processes.
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { DEVICE_AUTH_AUDIENCE, DEVICE_AUTH_SCHEME } from '../../shared/api.ts';
import { publicJwk, signDeviceRequestToken } from '../../shared/token.ts';
import type { DeviceFacts, EnrollResponse } from '../../shared/schemas/device.ts';

export function fakeFacts(name: string, overrides: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    machineIdHash: createHash('sha256').update(`${name}-${randomBytes(8).toString('hex')}`).digest('hex'),
    hardwareUuid: randomBytes(16).toString('hex'), hostname: name, manufacturer: 'Test', model: 'Laptop 13',
    serial: `SN-${name}`, os: 'Debian 12', ...overrides,
  };
}

export class SimDevice {
  readonly url: string;
  readonly facts: DeviceFacts;
  privateKey: KeyObject;
  publicKey: KeyObject;
  deviceId = '';
  enrollment?: EnrollResponse;
  private auth?: { token: string; exp: number };

  constructor(url: string, facts: DeviceFacts) {
    this.url = url;
    this.facts = facts;
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('ed25519'));
  }

  /** Enrolls; `proof` is an enroll proof (shared/device-proofs.ts) signed by the key of the device it re-enrolls as. */
  async enroll(token: string, opts: { proof?: string } = {}): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}/v1/enroll`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, facts: this.facts, publicKey: await publicJwk(this.publicKey), ...opts }),
    });
    const body = await r.json() as any;
    if (r.status === 201) { this.deviceId = body.deviceId; this.enrollment = body; this.auth = undefined; }
    return { status: r.status, body };
  }

  async authHeader(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    if (!this.auth || this.auth.exp - 60 < now) {
      this.auth = { token: await signDeviceRequestToken(this.privateKey, this.deviceId, DEVICE_AUTH_AUDIENCE, now), exp: now + 300 };
    }
    return `${DEVICE_AUTH_SCHEME} ${this.auth.token}`;
  }

  async entitlement(opts: { etag?: string; wait?: number; authorization?: string } = {}): Promise<{ status: number; etag: string | null; body: any }> {
    const headers: Record<string, string> = { authorization: opts.authorization ?? await this.authHeader() };
    if (opts.etag) headers['if-none-match'] = opts.etag;
    const r = await fetch(`${this.url}/v1/device/entitlement${opts.wait ? `?wait=${opts.wait}` : ''}`, { headers });
    const text = await r.text();
    return { status: r.status, etag: r.headers.get('etag'), body: text ? JSON.parse(text) : null };
  }

  /** Asks for a signed-in person's user entitlement (issue 16); `seq` + `wait` long-poll. */
  async userEntitlement(user: string, opts: { seq?: number; wait?: number } = {}): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}/v1/device/user-entitlement`, {
      method: 'POST', headers: { authorization: await this.authHeader(), 'content-type': 'application/json' },
      body: JSON.stringify({ user, ...opts }),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  async report(report: Record<string, unknown>): Promise<number> {
    const r = await fetch(`${this.url}/v1/device/status`, {
      method: 'POST', headers: { authorization: await this.authHeader(), 'content-type': 'application/json' }, body: JSON.stringify(report),
    });
    await r.arrayBuffer();
    return r.status;
  }
}

/** The claims of a compact JWS, without verifying it (tests verify separately). */
export function claimsOf(jws: string): any {
  return JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString('utf8'));
}
