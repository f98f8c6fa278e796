// `devlic-server serve --workers 2` on a real PostgreSQL, as real processes
// (issue 12: several event loops per host): connections reach both workers;
// /metrics through either worker is the host's sum; an assign made through
// one worker wakes long-polls held on the other; a worker killed with
// SIGKILL is restarted by the primary while the devices it held reconnect
// and converge; SIGTERM to the primary answers held long-polls and stops
// every process, exit 0. At start-up: a taken port fails the start once
// (exit 1, one line), SIGTERM while workers start exits 0, and `workers: 1`
// is the one process it always was. Runs in the `integration` project; needs only
// PostgreSQL (skipped loudly without it, a failure under DEVLIC_REQUIRE_REAL_APPS=1).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePostgres } from '../helpers/postgres.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { NODE, ROOT, startService, tempDir, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { claimsOf, type SimDevice } from '../helpers/sim-device.ts';
import { current, enrollDevices, pollUntil, waitingOn, SKU } from './replicas.ts';
import { logLines, onePerWorker, pinned, startWorkers, workerPids, type Pinned } from './workers.ts';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** `count` connections held by `worker`. */
async function connectionsTo(url: string, worker: number, count: number): Promise<Pinned[]> {
  const out: Pinned[] = [];
  for (let i = 0; i < 40 * count && out.length < count; i++) {
    const p = await pinned(url);
    if (p.worker === worker) out.push(p);
    else await p.close();
  }
  if (out.length < count) throw new Error(`only ${out.length} of ${count} connections reached worker ${worker}`);
  return out;
}

/** Holds the device's long-poll on `conn` (ETag of its current token): resolves with the answer. */
async function hold(conn: Pinned, d: SimDevice, etag: string) {
  return conn.get('/v1/device/entitlement?wait=30', { authorization: await d.authHeader(), 'if-none-match': etag });
}

describePostgres('serve --workers on PostgreSQL: start-up', (cluster) => {
  it('a port that is taken fails the start once, with the worker\'s reason in one line, exit 1, no worker left', async () => {
    const blocker = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    const port = (blocker.address() as { port: number }).port;
    try {
      const p = spawn(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(tempDir('wk-busy'), 'data'), '--listen', `127.0.0.1:${port}`,
        '--database', await cluster().createDatabase(), '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVLIC_LOG_LEVEL: 'info' } });
      let out = '', err = '';
      p.stdout.on('data', (d) => { out += d; });
      p.stderr.on('data', (d) => { err += d; });
      const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
      expect(code).toBe(1);
      expect(err).toBe(`devlic-server: cannot listen on 127.0.0.1:${port}: the address is in use (another devlic-server?) [CONFIG_INVALID]\n`);
      const started = out.split('\n').filter((l) => l.includes('"msg":"worker started"')).map((l) => JSON.parse(l).pid as number);
      expect(started).toHaveLength(2);
      await waitFor('no worker left', () => started.every((pid) => !alive(pid)));
      expect(out).not.toContain('"msg":"devlic-server listening"');
    } finally {
      blocker.close();
    }
  });


  it('SIGTERM while the workers start stops them and exits 0', async () => {
    const p = spawn(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(tempDir('wk-early'), 'data'), '--listen', '127.0.0.1:0',
      '--database', await cluster().createDatabase(), '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVLIC_LOG_LEVEL: 'info' } });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    const started = () => out.split('\n').filter((l) => l.includes('"msg":"worker started"')).map((l) => JSON.parse(l).pid as number);
    await waitFor('both workers forked', () => started().length === 2);
    p.kill('SIGTERM');
    expect(await exited, out).toBe(0);
    await waitFor('no worker left', () => started().every((pid) => !alive(pid)));
    expect(out).not.toContain('"msg":"devlic-server listening"');
  });

  it('warns when the host\'s workers could open more connections than PostgreSQL allows', async () => {
    // The test cluster allows 200 (3 reserved); 2 × (100 + 2) = 204.
    const svc = await startWorkers(2, await cluster().createDatabase(), { config: { databasePoolSize: 100 } });
    try {
      const [w] = logLines(svc, "this host's 2 workers may open 204 database connections (2 × (databasePoolSize 100 + 2)), more than the 197 PostgreSQL allows (max_connections 200 − superuser_reserved_connections 3); raise max_connections or lower workers or databasePoolSize");
      expect(w).toMatchObject({ level: 40, workers: 2, databasePoolSize: 100, maxConnections: 200 });
    } finally {
      await svc.stop();
    }
    const fits = await startWorkers(2, await cluster().createDatabase());
    await fits.stop();
    expect(fits.output()).not.toContain('database connections (');
  });

  it('is one process, as without the setting: no primary, no worker, /healthz as before', async () => {
    const svc = await startService({ database: await cluster().createDatabase(), config: { workers: 1 }, logLevel: 'info' });
    try {
      expect(await (await fetch(`${svc.url}/healthz`)).json()).toEqual({ ok: true });
      const pid = svc.proc.pid!;
      expect(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()).toBe('');
      expect(logLines(svc, 'devlic-server listening')).toHaveLength(1);
      expect(logLines(svc, 'worker started')).toHaveLength(0);
    } finally {
      await svc.stop();
    }
  });
});

describePostgres('serve --workers 2 on one PostgreSQL', (cluster) => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  const opened: Pinned[] = [];
  beforeAll(async () => {
    svc = await startWorkers(2, await cluster().createDatabase());
    admin = adminClient(svc.url, svc.adminToken);
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 100, name: 'Wk' });
  });
  afterAll(async () => {
    await Promise.allSettled(opened.map((p) => p.close()));
    await svc?.kill9();
    for (const pid of svc ? workerPids(svc).values() : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('starts two workers, says it listens once, and answers through both', async () => {
    expect(logLines(svc, 'devlic-server listening')).toHaveLength(1);
    const pids = workerPids(svc);
    expect([...pids.keys()]).toEqual([1, 2]);
    for (const pid of pids.values()) expect(alive(pid)).toBe(true);
    // New connections are handed out in turn: a handful reaches both.
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const p = await pinned(svc.url);
      seen.add(p.worker);
      await p.close();
    }
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('an assign made through one worker wakes long-polls held on the other, and /metrics through either counts both', async () => {
    await admin.ok('POST', '/groups', { name: 'Wake' });
    const devices = await enrollDevices(admin, [svc.url], 'Wake', 4);
    const before = await Promise.all(devices.map(current));
    expect(before.every((b) => b.status === 'unlicensed')).toBe(true);
    const onTwo = await connectionsTo(svc.url, 2, 3);
    const onOne = await connectionsTo(svc.url, 1, 1);
    opened.push(...onTwo, ...onOne);
    // Three devices wait on worker 2, one on worker 1.
    const answers = devices.map((d, i) => hold(i < 3 ? onTwo[i] : onOne[0], d, before[i].etag));
    const scrapers = await onePerWorker(svc.url, [1, 2]);
    opened.push(...scrapers.values());
    const waitingThrough = async (w: number) => {
      const text = (await scrapers.get(w)!.get('/metrics')).body as string;
      return Number(text.match(/^devlic_longpolls_waiting (\d+)/m)?.[1]);
    };
    await waitFor('four long-polls held', async () => (await waitingThrough(1)) === 4);
    // The host's figure whichever worker is asked, not the answering worker's 1 or 3.
    expect(await waitingThrough(2)).toBe(4);
    const metrics = (await scrapers.get(2)!.get('/metrics')).body as string;
    expect(metrics).toMatch(/^devlic_server_workers 2$/m);
    // Read from the shared database: once, not once per worker.
    expect(Number(metrics.match(/^devlic_devices\{status="unlicensed"[^}]*\} (\d+)/m)?.[1])).toBe(4);

    const assign = await scrapers.get(1)!.request('POST', '/v1/admin/licenses/assign', { authorization: `Bearer ${svc.adminToken}` },
      { subscription: 'Wk', group: 'Wake', confirm: true });
    expect(assign.status, JSON.stringify(assign.body)).toBeLessThan(300);
    for (const a of await Promise.all(answers)) {
      expect(a.status).toBe(200);
      expect(claimsOf(a.body.token).status).toBe('licensed');
    }
  });

  it('restarts a worker killed with SIGKILL; the devices it held reconnect and converge', async () => {
    await admin.ok('POST', '/groups', { name: 'Kill' });
    const devices = await enrollDevices(admin, [svc.url], 'Kill', 4);
    const before = await Promise.all(devices.map(current));
    const held = await connectionsTo(svc.url, 2, devices.length);
    opened.push(...held);
    const answers = devices.map((d, i) => hold(held[i], d, before[i].etag).then(() => 'answered', () => 'cut'));
    await waitFor('the long-polls held on worker 2', async () => (await waitingOn(svc)) >= devices.length);
    const victim = workerPids(svc).get(2)!;
    process.kill(victim, 'SIGKILL');
    // Each was held by the killed worker: its connection is cut, not answered.
    expect(await Promise.all(answers)).toEqual(devices.map(() => 'cut'));
    // The devices go on as an agent does: new connections, to whichever worker is up.
    const converged = devices.map((d, i) => pollUntil(d, 'licensed', before[i], 45_000));
    await waitFor('the primary to start another worker', () => logLines(svc, 'worker listening').some((l) => l.worker === 3), 30_000);
    const restarted = logLines(svc, 'a worker stopped unasked; starting another');
    expect(restarted).toHaveLength(1);
    expect(restarted[0]).toMatchObject({ worker: 2, pid: victim, signal: 'SIGKILL' });
    expect(alive(victim)).toBe(false);
    await admin.ok('POST', '/licenses/assign', { subscription: 'Wk', group: 'Kill', confirm: true });
    for (const c of await Promise.all(converged)) expect(c.status).toBe('licensed');
    // The new worker serves, the one that never died still does, and the host counts the restart.
    const both = await onePerWorker(svc.url, [1, 3]);
    opened.push(...both.values());
    expect((await both.get(3)!.get('/metrics')).body).toMatch(/^devlic_server_worker_restarts_total 1$/m);
  });

  it('SIGTERM to the primary answers held long-polls, stops every worker and exits 0', async () => {
    await admin.ok('POST', '/groups', { name: 'Stop' });
    const [d] = await enrollDevices(admin, [svc.url], 'Stop', 1);
    const was = await current(d);
    const conns = await onePerWorker(svc.url, [1, 3]);
    opened.push(...conns.values());
    const answers = [...conns.values()].map((c) => hold(c, d, was.etag));
    await waitFor('both long-polls held', async () => (await waitingOn(svc)) >= 2);
    const pids = [...workerPids(svc).values()].filter(alive);
    expect(pids).toHaveLength(2);
    const exited = new Promise<number | null>((r) => svc.proc.once('exit', (code) => r(code)));
    svc.proc.kill('SIGTERM');
    for (const a of await Promise.all(answers)) expect(a.status).toBe(304);
    expect(await exited).toBe(0);
    await waitFor('every worker gone', () => pids.every((p) => !alive(p)));
    expect(logLines(svc, 'stopping').filter((l) => l.worker !== undefined)).toHaveLength(2);
  });
});
