// Enrollment: create the device key pair, register with the service using an
// admin's enroll token, pin the service's signing keys and store the device
// id. A failed enrollment changes nothing on disk, so a working device is not
// broken by a mistyped token. Re-enrolling proves, with a short-lived proof
// signed by the CURRENT device key, that this is the device it was: only then
// does the service keep the device id (hardware facts alone never do). Without
// the old key (a reinstalled OS) the device enrolls as a new one, flagged as a
// possible duplicate for an admin to merge (`devlic-admin devices merge`).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { Logger } from '../../shared/log.ts';
import { publicJwk } from '../../shared/token.ts';
import { Backoff } from '../../shared/backoff.ts';
import type { Ed25519PublicJwk, EnrollResponse } from '../../shared/schemas/device.ts';
import { signEnrollProof } from '../../shared/device-proofs.ts';
import { agentPaths, type AgentConfig } from '../config.ts';
import type { Clock } from '../decision/clock.ts';
import { ensurePrivateDir } from '../host/fsutil.ts';
import { factsFromRaw, persistedFallbackId, type IdentitySource } from '../host/identity.ts';
import { HttpClient, ServiceError, checkServerUrl } from './client.ts';
import { enrollDevice } from './device-api.ts';
import { readDeviceKey, readIdentity, writeDeviceKey, writeIdentity, type StoredIdentity } from '../store/files.ts';
import { openDb } from '../store/db.ts';
import { Store } from '../store/store.ts';
import { AgentError } from '../errors.ts';

export interface EnrollOptions {
  cfg: AgentConfig;
  server: string;
  token: string;
  caFile?: string;
  allowInsecureHttp: boolean;
  clock: Clock;
  log: Logger;
  identitySource: IdentitySource;
  /** Waits between rate-limited attempts (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

const MAX_ATTEMPTS = 4;
const MAX_RETRY_AFTER_MS = 60_000;

export async function enroll(opts: EnrollOptions): Promise<{ identity: StoredIdentity; previousDeviceId: string | null; duplicateOf: string | null; proofRefused: string | null }> {
  const paths = agentPaths(opts.cfg.dataDir);
  const server = checkServerUrl(opts.server, opts.allowInsecureHttp).href.replace(/\/$/, '');
  ensurePrivateDir(paths.dataDir);
  let previous: StoredIdentity | null = null;
  try {
    previous = readIdentity(paths.identity);
  } catch {
    // A damaged identity is replaced by this enrollment.
  }
  const fresh = factsFromRaw(await opts.identitySource(), persistedFallbackId(join(paths.dataDir, 'machine-id')));
  // The stored hardware identity is sent again: a new record is then flagged as a duplicate of the old one.
  const facts = previous ? { ...fresh, machineIdHash: previous.facts.machineIdHash, hardwareUuid: previous.facts.hardwareUuid } : fresh;
  // The key that proves which device this is, if this is a re-enrollment with the same service.
  const priorKey = previous && previous.server === server ? readPriorKey(paths.deviceKey) : null;

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const newJwk = await publicJwk(publicKey);
  const http = new HttpClient({
    server, caFile: opts.caFile, allowInsecureHttp: opts.allowInsecureHttp,
    timeoutMs: opts.cfg.requestTimeoutSeconds * 1000, maxResponseBytes: opts.cfg.maxResponseBytes,
  });
  // The proof is signed per attempt: a rate-limited retry must not send an expired one.
  const send = async (proof?: () => Promise<string>) => withRateLimitRetry(
    async () => enrollDevice(http, { token: opts.token, facts, publicKey: newJwk, ...(proof ? { proof: await proof() } : {}) }, opts.clock.now()), opts);
  let res: EnrollResponse;
  let proofRefused: string | null = null;
  try {
    if (previous && priorKey) {
      const r = await enrollWithProof(send, priorKey, previous.deviceId, newJwk, opts);
      res = r.res;
      proofRefused = r.proofRefused;
    } else {
      res = await send();
    }
  } catch (e) {
    throw explain(e, server);
  } finally {
    await http.close().catch(() => undefined);
  }
  if (!res.keys.keys.some((k) => k.kid)) throw new AgentError('the service sent no signing key with a key id to pin', 'check the service version');

  const identity: StoredIdentity = {
    version: 1, deviceId: res.deviceId, server, issuer: res.issuer, audience: res.audience, keys: res.keys, facts,
    enrolledAt: new Date(opts.clock.now()).toISOString(), reenrolled: res.reenrolled,
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
    ...(opts.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
  };
  const store = new Store(openDb(paths.db));
  try {
    writeDeviceKey(paths.deviceKey, privateKey);
    writeIdentity(paths.identity, identity);
    const now = opts.clock.now();
    store.tx(() => {
      if (previous?.deviceId !== res.deviceId) {
        // Another device id: its seq numbering starts afresh and old tokens are for someone else.
        store.clearEntitlement();
        store.recordSync({ at: now, ok: true, error: null, etag: null });
      }
      store.addEvent(now, 'enroll', res.reenrolled ? 'REENROLLED' : 'ENROLLED', {
        deviceId: res.deviceId, server, previousDeviceId: previous?.deviceId ?? null, hostname: facts.hostname,
        duplicateOf: res.duplicateOf ?? null, proofRefused,
      });
    });
    if (previous?.deviceId !== res.deviceId) rmSync(paths.watermark, { force: true });
  } finally {
    store.close();
  }
  opts.log.info({ deviceId: res.deviceId, reenrolled: res.reenrolled, duplicateOf: res.duplicateOf ?? null }, 'enrolled');
  return { identity, previousDeviceId: previous?.deviceId ?? null, duplicateOf: res.duplicateOf ?? null, proofRefused };
}

function readPriorKey(path: string): KeyObject | null {
  try {
    return readDeviceKey(path);
  } catch {
    return null;
  }
}

/** Drift between our clock and the service's below which a refused proof is not re-stamped. */
const PROOF_SKEW_MS = 20_000;

/**
 * Enrolls with a proof signed by the current key. A proof the service refuses
 * (ENROLL_PROOF_INVALID changes nothing, not even the token's uses) is signed
 * once more with the service's time if our clock is off; if it is still
 * refused (the service no longer has this key for the device, e.g. after a
 * merge or a restored database), the device enrolls as a new one and says why.
 */
async function enrollWithProof(
  send: (proof?: () => Promise<string>) => Promise<EnrollResponse>, priorKey: KeyObject, deviceId: string, newJwk: Ed25519PublicJwk, opts: EnrollOptions,
): Promise<{ res: EnrollResponse; proofRefused: string | null }> {
  // Stamped with our clock, or with the service's shifted by however long ago we learned it.
  const proofAt = (offsetMs: number) => () => signEnrollProof(priorKey, deviceId, newJwk, Math.floor((opts.clock.now() + offsetMs) / 1000));
  try {
    return { res: await send(proofAt(0)), proofRefused: null };
  } catch (e) {
    if (!isProofRefusal(e)) throw e;
    let refusal: ServiceError = e;
    const skewMs = e.serverDateMs === undefined ? 0 : e.serverDateMs - opts.clock.now();
    if (Math.abs(skewMs) > PROOF_SKEW_MS) {
      try {
        return { res: await send(proofAt(skewMs)), proofRefused: null };
      } catch (again) {
        if (!isProofRefusal(again)) throw again;
        refusal = again;
      }
    }
    opts.log.warn({ code: refusal.code, message: refusal.message }, 'the service did not accept the proof of this device key; enrolling as a new device');
    return { res: await send(), proofRefused: refusal.message };
  }
}

function isProofRefusal(e: unknown): e is ServiceError {
  return e instanceof ServiceError && e.code === 'ENROLL_PROOF_INVALID';
}

async function withRateLimitRetry<T>(fn: () => Promise<T>, opts: EnrollOptions): Promise<T> {
  const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000 });
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const limited = e instanceof ServiceError && e.status === 429;
      if (!limited || attempt >= MAX_ATTEMPTS || (e.retryAfterMs ?? 0) > MAX_RETRY_AFTER_MS) throw e;
      const delay = Math.max(1000, backoff.next(e.retryAfterMs));
      opts.log.warn({ delayMs: delay }, 'enrollment rate-limited by the service; waiting');
      await sleep(delay);
    }
  }
}

function explain(e: unknown, server: string): Error {
  if (!(e instanceof ServiceError)) return e as Error;
  if (e.code === 'ENROLL_TOKEN_INVALID') {
    return new AgentError(`the service refused the enroll token (unknown, expired or used up): ${e.message}`, 'ask an administrator for a new token (devlic-admin enroll-tokens create)');
  }
  if (e.status === 429) return new AgentError(`the service is rate-limiting enrollments: ${e.message}`, 'wait a minute and try again');
  if (e.kind === 'network') return new AgentError(e.message, `check that ${server} is reachable from this device (devlic-agent doctor)`);
  if (e.status === 404) return new AgentError(`enrollment failed: ${e.message}`, `${server} does not look like the base URL of a devlic service (nothing answers enrollment there); check --server`);
  return new AgentError(`enrollment failed: ${e.message}`, 'check the server URL and the service logs');
}
