// Several devlic-server replicas on one PostgreSQL database, as real
// processes: the first makes the keyring and its site key, which is copied
// (0600) into every other replica's data folder before it starts, as an
// admin would copy it (docs/scale-out.md). Also what tests of replicas share:
// an admin client per replica, devices enrolled spread over them, and a
// device's long-poll loop until its token says what the test waits for.
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { siteKeyFile } from '../../service/keyring-db.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { startService, tempDir, type ServiceProcess } from '../helpers/processes.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';

export const SKU = 'M365_APPS_ENTERPRISE_DEVICE';

/** Copies the site key of `from` into `toDataDir` (made 0700 if new), mode 0600. */
export function copySiteKey(from: { dataDir: string }, toDataDir: string): void {
  mkdirSync(toDataDir, { recursive: true, mode: 0o700 });
  copyFileSync(siteKeyFile(from.dataDir), siteKeyFile(toDataDir));
  chmodSync(siteKeyFile(toDataDir), 0o600);
}

/** A replica with the bootstrap admin token of the site (every replica accepts it: it is in the database). */
export type Replica = ServiceProcess & { admin: AdminClient };

function withAdmin(svc: ServiceProcess, token: string): Replica {
  return Object.assign(svc, { adminToken: token, admin: adminClient(svc.url, token) });
}

/**
 * Starts `n` replicas on `database`: the first alone, then the others (in parallel) with its site key.
 * startTimeoutMs: how long each may take to come up (startService's default otherwise).
 */
export async function startReplicas(n: number, database: string, config?: Record<string, unknown>, startTimeoutMs?: number): Promise<Replica[]> {
  const first = await startService({ database, config, startTimeoutMs });
  const settled = await Promise.allSettled(Array.from({ length: n - 1 }, () => {
    const dataDir = join(tempDir('replica'), 'data');
    copySiteKey(first, dataDir);
    return startService({ database, dataDir, config, startTimeoutMs });
  }));
  const rest = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // The caller never gets the ones that did start: stop them here, or they outlive the test.
    await Promise.allSettled([first, ...rest].map((s) => s.stop()));
    throw failed.reason;
  }
  return [first, ...rest].map((s) => withAdmin(s, first.adminToken));
}

/** Starts a replica again on its data folder and port (after stop() or kill9()). */
export async function restartReplica(r: Replica, config?: Record<string, unknown>, startTimeoutMs?: number): Promise<Replica> {
  const svc = await startService({ database: r.database!, dataDir: r.dataDir, port: r.port, config, startTimeoutMs });
  return withAdmin(svc, r.adminToken);
}

/** Enrolls `count` devices into `group`, device i through urls[i % urls.length]. */
export async function enrollDevices(admin: AdminClient, urls: string[], group: string, count: number, prefix = group): Promise<SimDevice[]> {
  const { token } = await admin.ok('POST', '/enroll-tokens', { uses: count, group });
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const d = new SimDevice(urls[i % urls.length], fakeFacts(`${prefix}-${i}`));
    const r = await d.enroll(token);
    if (r.status !== 201) throw new Error(`enroll ${prefix}-${i}: ${r.status} ${JSON.stringify(r.body)}`);
    return d;
  }));
}

/** Long-polls this replica holds open now (its /metrics gauge). */
export async function waitingOn(r: { url: string }): Promise<number> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  return Number(text.match(/^devlic_longpolls_waiting (\d+)/m)?.[1] ?? NaN);
}

export interface Polled { status: string; at: number; etag: string; token: string }

/** The device's current entitlement (no wait). */
export async function current(d: SimDevice): Promise<Polled> {
  const r = await d.entitlement();
  if (r.status !== 200) throw new Error(`entitlement of ${d.deviceId}: ${r.status} ${JSON.stringify(r.body)}`);
  return { status: claimsOf(r.body.token).status, at: Date.now(), etag: r.etag!, token: r.body.token };
}

/**
 * Long-polls (ETag, ?wait=) until the token's status is `want`; resolves with
 * the moment the answer arrived. Transport errors (a replica killed under the
 * poll) are retried after a short pause, as the agent does.
 */
export async function pollUntil(d: SimDevice, want: string, from: Polled, deadlineMs = 60_000): Promise<Polled> {
  const end = Date.now() + deadlineMs;
  let etag = from.etag;
  if (from.status === want) return from;
  while (Date.now() < end) {
    let r;
    try {
      r = await d.entitlement({ etag, wait: 20 });
    } catch {
      await new Promise((res) => setTimeout(res, 200));
      continue;
    }
    if (r.status === 304) continue;
    if (r.status !== 200) { await new Promise((res) => setTimeout(res, 200)); continue; }
    etag = r.etag!;
    const status = claimsOf(r.body.token).status;
    if (status === want) return { status, at: Date.now(), etag, token: r.body.token };
  }
  throw new Error(`device ${d.deviceId} did not become ${want} within ${deadlineMs} ms`);
}
