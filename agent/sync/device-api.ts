// The service's device API as typed calls: enrollment, the entitlement
// long-poll and the status report. Authenticates with a short-lived token
// signed by the device key (`Authorization: DevlicDevice <jwt>`), re-used
// until a minute before it expires because the service caches verified
// tokens. Request tokens are stamped with the SERVICE's time as learned from
// its Date header, so a device whose clock is wrong is not mistaken for a
// revoked one: a 401 is retried once with a corrected timestamp.
import type { KeyObject } from 'node:crypto';
import { API, DEVICE_AUTH_AUDIENCE, DEVICE_AUTH_SCHEME } from '../../shared/api.ts';
import { signDeviceRequestToken } from '../../shared/token.ts';
import { EnrollResponse, EntitlementResponse, type EnrollRequest, type StatusReport } from '../../shared/schemas/device.ts';
import { isValid } from '../../shared/validate.ts';
import { UserEntitlementResponse } from '../../shared/schemas/user.ts';
import { ServiceError, type Answer, type HttpClient } from './client.ts';
import type { Clock } from '../decision/clock.ts';

const TOKEN_LIFETIME_S = 300;
const RENEW_BEFORE_S = 60;
/** Clock differences below this are left alone: Date has 1 s resolution and the service tolerates 60 s. */
const SKEW_IGNORE_MS = 30_000;

export type EntitlementAnswer =
  | { status: 200; token: string; seq: number; etag: string | null; serverDateMs?: number }
  | { status: 304; serverDateMs?: number };

export class DeviceApi {
  readonly http: HttpClient;
  private deviceId: string;
  private readonly key: KeyObject;
  private readonly clock: Clock;
  private cached: { jwt: string; exp: number; skewMs: number } | null = null;
  private skewMs = 0;

  constructor(http: HttpClient, deviceId: string, key: KeyObject, clock: Clock) {
    this.http = http;
    this.deviceId = deviceId;
    this.key = key;
    this.clock = clock;
  }

  /** Signs as another device id from now on (this device was merged into it). */
  useDeviceId(deviceId: string): void {
    this.deviceId = deviceId;
    this.cached = null;
  }

  /** The service's clock minus ours, when it matters. */
  get clockSkewMs(): number {
    return this.skewMs;
  }

  private observe(a: { serverDateMs?: number }): void {
    if (a.serverDateMs === undefined) return;
    const skew = a.serverDateMs - this.clock.now();
    this.skewMs = Math.abs(skew) > SKEW_IGNORE_MS ? skew : 0;
  }

  private async authorization(): Promise<string> {
    const nowS = Math.floor((this.clock.now() + this.skewMs) / 1000);
    const c = this.cached;
    if (!c || c.skewMs !== this.skewMs || nowS >= c.exp - RENEW_BEFORE_S) {
      const jwt = await signDeviceRequestToken(this.key, this.deviceId, DEVICE_AUTH_AUDIENCE, nowS, TOKEN_LIFETIME_S);
      this.cached = { jwt, exp: nowS + TOKEN_LIFETIME_S, skewMs: this.skewMs };
    }
    return `${DEVICE_AUTH_SCHEME} ${this.cached!.jwt}`;
  }

  private async authed(method: 'GET' | 'POST', path: string, opts: { headers?: Record<string, string>; json?: unknown; holdMs?: number; signal?: AbortSignal }): Promise<Answer> {
    let a = await this.http.send(method, path, { ...opts, headers: { ...opts.headers, authorization: await this.authorization() } });
    const skewBefore = this.skewMs;
    this.observe(a);
    if (a.status === 401 && this.skewMs !== skewBefore) {
      // Our timestamp was probably outside the service's window: once more with its time.
      a = await this.http.send(method, path, { ...opts, headers: { ...opts.headers, authorization: await this.authorization() } });
      this.observe(a);
    }
    if (a.status === 401) this.cached = null;
    return a;
  }

  /**
   * GET the entitlement. With `etag` and `waitSeconds` the service holds the
   * request until the entitlement changes or the wait ends (304).
   */
  async entitlement(opts: { etag?: string | null; waitSeconds?: number; signal?: AbortSignal } = {}): Promise<EntitlementAnswer> {
    const wait = opts.etag && opts.waitSeconds ? opts.waitSeconds : 0;
    const path = wait > 0 ? `${API.entitlement}?wait=${wait}` : API.entitlement;
    const headers: Record<string, string> = opts.etag ? { 'if-none-match': opts.etag } : {};
    const a = await this.authed('GET', path, { headers, holdMs: wait * 1000, signal: opts.signal });
    if (a.status === 304) return { status: 304, serverDateMs: a.serverDateMs };
    if (a.status !== 200) throw this.http.errorOf(a, this.clock.now());
    if (!isValid(EntitlementResponse, a.body)) {
      throw new ServiceError('protocol', 200, 'BAD_RESPONSE', 'entitlement answer does not match the protocol');
    }
    const etag = typeof a.headers.etag === 'string' ? a.headers.etag : null;
    return { status: 200, token: a.body.token, seq: a.body.seq, etag, serverDateMs: a.serverDateMs };
  }

  /**
   * POST the user-entitlement request for a signed-in person (issue 16). With
   * `seq` (the one held) and `waitSeconds` the service holds the request until
   * the person's licence changes or the wait ends, then answers a fresh token.
   */
  async userEntitlement(user: string, opts: { seq?: number; waitSeconds?: number; signal?: AbortSignal } = {}): Promise<UserEntitlementResponse> {
    const wait = opts.seq !== undefined && opts.waitSeconds ? opts.waitSeconds : 0;
    const json = { user, ...(opts.seq !== undefined ? { seq: opts.seq } : {}), ...(wait ? { wait } : {}) };
    const a = await this.authed('POST', API.userEntitlement, { json, holdMs: wait * 1000, signal: opts.signal });
    if (a.status !== 200) throw this.http.errorOf(a, this.clock.now());
    if (!isValid(UserEntitlementResponse, a.body)) {
      throw new ServiceError('protocol', 200, 'BAD_RESPONSE', 'user entitlement answer does not match the protocol');
    }
    return a.body;
  }

  async reportStatus(report: StatusReport, signal?: AbortSignal): Promise<void> {
    const a = await this.authed('POST', API.status, { json: report, signal });
    if (a.status !== 204 && a.status !== 200) throw this.http.errorOf(a, this.clock.now());
  }
}

/** POST /v1/enroll (no device authentication: the enroll token is the credential). */
export async function enrollDevice(http: HttpClient, req: EnrollRequest, nowMs: number): Promise<EnrollResponse> {
  const a = await http.send('POST', API.enroll, { json: req });
  if (a.status !== 201 && a.status !== 200) throw http.errorOf(a, nowMs);
  if (!isValid(EnrollResponse, a.body)) throw new ServiceError('protocol', a.status, 'BAD_RESPONSE', 'enroll answer does not match the protocol');
  return a.body;
}

/** True for answers that mean "this device is no longer known or allowed". */
export function isRevocation(e: unknown): e is ServiceError {
  return e instanceof ServiceError && e.kind === 'http' && (e.status === 401 || e.status === 403);
}
