// The connection to the service for an enrolled device, set up the same way
// by the daemon, the one-shot pass and doctor: the server, CA file and
// plain-HTTP permission come from the identity written at enrollment, and the
// local config may override the CA file or allow plain HTTP (never forbid
// what enrollment allowed: the identity records what was checked then).
import type { AgentConfig } from '../config.ts';
import type { StoredIdentity } from '../store/files.ts';
import { readDeviceKey } from '../store/files.ts';
import type { Clock } from '../decision/clock.ts';
import { HttpClient } from './client.ts';
import { DeviceApi } from './device-api.ts';

type ConnectConfig = Pick<AgentConfig, 'caFile' | 'allowInsecureHttp' | 'requestTimeoutSeconds' | 'maxResponseBytes'>;

export interface Connection {
  http: HttpClient;
  api: DeviceApi;
}

/** An HTTP client for this device's service; `timeoutMs` defaults to the configured request timeout. */
export function serviceClient(cfg: ConnectConfig, identity: StoredIdentity, timeoutMs = cfg.requestTimeoutSeconds * 1000): HttpClient {
  return new HttpClient({
    server: identity.server, caFile: cfg.caFile ?? identity.caFile,
    allowInsecureHttp: cfg.allowInsecureHttp || identity.allowInsecureHttp === true,
    timeoutMs, maxResponseBytes: cfg.maxResponseBytes,
  });
}

/** The client plus the device API signing with the device key at `deviceKeyPath`. Throws (nothing left open) when either cannot be set up. */
export function connect(cfg: ConnectConfig, identity: StoredIdentity, deviceKeyPath: string, clock: Clock): Connection {
  const http = serviceClient(cfg, identity);
  try {
    return { http, api: new DeviceApi(http, identity.deviceId, readDeviceKey(deviceKeyPath), clock) };
  } catch (e) {
    void http.close().catch(() => undefined);
    throw e;
  }
}
