// Replicas on one PostgreSQL behind the real HAProxy (issue 12): devices
// long-poll through the one URL; one replica is killed with SIGKILL
// mid-run; its devices reconnect through HAProxy to the other, the assign
// made just before the kill and the changes made after it reach every
// device, nothing acknowledged is lost. And /healthz tells HAProxy when a
// replica has lost its database: it is marked DOWN while the other keeps
// serving, and UP again once the database lets it back in.
// Needs PostgreSQL and HAProxy (each skipped loudly without, a failure under
// DEVLIC_REQUIRE_REAL_APPS=1).
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { haproxyMissing, replica, skipWithoutHaproxy, startHaproxy, type HaproxyProcess } from '../helpers/haproxy.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { startService, tempDir, waitFor } from '../helpers/processes.ts';
import { join } from 'node:path';
import { adminClient } from '../helpers/admin.ts';
import { copySiteKey, current, enrollDevices, pollUntil, startReplicas, waitingOn, SKU, type Replica } from '../service-replicas/replicas.ts';

const skip = skipWithoutHaproxy('the replica failover tests');
// Skipped loudly above; a skipped test keeps the file from counting as empty (which vitest fails).
const skipped = (name: string) => it.skip(`${name}: needs HAProxy (${haproxyMissing})`, () => {});

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { await c.query(text); } finally { await c.end(); }
}

(skip ? skipped : describePostgres)('replicas behind HAProxy', (cluster) => {
  let r1: Replica;
  let r2: Replica;
  let lb: HaproxyProcess;
  beforeAll(async () => {
    [r1, r2] = await startReplicas(2, await cluster().createDatabase());
    lb = await startHaproxy({ servers: [replica('r1', r1), replica('r2', r2)] });
  });
  afterAll(async () => { await lb?.stop(); await Promise.all([r1?.stop(), r2?.stop()]); });

  it('a replica killed mid-run: its devices reconnect to the other, and every change before and after the kill reaches every device', async () => {
    const admin = adminClient(lb.url, r1.adminToken);
    for (const g of ['Before', 'After']) await admin.ok('POST', '/groups', { name: g });
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 100, name: 'Fleet' });
    const devices = [...await enrollDevices(admin, [lb.url], 'Before', 15), ...await enrollDevices(admin, [lb.url], 'After', 15)];
    const start = await Promise.all(devices.map(current));
    expect(start.every((p) => p.status === 'unlicensed')).toBe(true);

    // Every device waits through HAProxy; leastconn spreads them over both replicas.
    const licensed = devices.map((d, i) => pollUntil(d, 'licensed', start[i]));
    await waitFor('every long-poll held', async () => (await waitingOn(r1)) + (await waitingOn(r2)) === devices.length, 20_000);
    const held = { r1: await waitingOn(r1), r2: await waitingOn(r2) };
    expect(held.r1).toBeGreaterThan(0);
    expect(held.r2).toBeGreaterThan(0);

    // Just before the kill: an acknowledged assign, its answers possibly still on their way through r1.
    await admin.ok('POST', '/licenses/assign', { subscription: 'Fleet', group: 'Before', confirm: true });
    const killedAt = Date.now();
    await r1.kill9();
    // After the kill, through the same URL (a connection refused by r1 is retried on r2 by HAProxy).
    await admin.ok('POST', '/licenses/assign', { subscription: 'Fleet', group: 'After', confirm: true });
    const got = await Promise.all(licensed);
    const convergedMs = Math.max(...got.map((p) => p.at)) - killedAt;
    const down = await lb.waitForStatus('r1', 'DOWN');
    const downMs = Date.now() - killedAt;
    expect(down.checkStatus).toBe('L4CON');

    // One more change after the kill reaches every device, and no acknowledged one is lost.
    const unlicensed = devices.map((d, i) => pollUntil(d, 'unlicensed', got[i]));
    // Every device waits on r2 now.
    await waitFor('every long-poll held on r2', async () => (await waitingOn(r2)) === devices.length, 20_000);
    const t = Date.now();
    for (const g of ['Before', 'After']) await admin.ok('POST', '/licenses/unassign', { subscription: 'Fleet', group: g, confirm: true });
    const back = await Promise.all(unlicensed);
    const audit = (await admin.ok('GET', '/audit?action=license.&limit=100')).items as Array<{ action: string }>;
    expect(audit.map((e) => e.action).sort()).toEqual(['license.assign', 'license.assign', 'license.unassign', 'license.unassign']);
    console.log(`failover: ${held.r1}/${held.r2} devices on r1/r2; kill -9 r1 -> every device licensed through r2 in ${convergedMs} ms; HAProxy marked r1 DOWN after ${downMs} ms; unassign after failover reached all ${devices.length} in ${Math.max(...back.map((p) => p.at)) - t} ms`);
    expect(convergedMs).toBeLessThan(30_000);
  }, 180_000);
});

(skip ? skipped : describePostgres)('/healthz and a replica that lost its database', (cluster) => {
  let lb: HaproxyProcess | undefined;
  let cut: Replica | undefined;
  let kept: Replica | undefined;
  afterAll(async () => { await lb?.stop(); await Promise.all([cut?.stop(), kept?.stop()]); });

  it('answers 503 when its database refuses it, so HAProxy marks it DOWN while the other serves; 200 and UP again once it is let back in', async () => {
    const c = cluster();
    const database = await c.createDatabase();
    // Each replica logs in as its own role, so one of them can be shut out of the database alone.
    const as = (role: string) => { const u = new URL(database); u.username = role; return u.toString(); };
    for (const role of ['replica_cut', 'replica_kept']) await sql(c.adminUrl, `CREATE ROLE ${role} LOGIN SUPERUSER`);
    kept = Object.assign(await startService({ database: as('replica_kept') }), {}) as Replica;
    const dataDir = join(tempDir('replica'), 'data');
    copySiteKey(kept, dataDir);
    cut = await startService({ database: as('replica_cut'), dataDir }) as Replica;
    lb = await startHaproxy({ servers: [replica('cut', cut), replica('kept', kept)] });

    const healthOf = async () => { const r = await fetch(`${cut!.url}/healthz`); return { status: r.status, body: await r.json() as any }; };
    expect(await healthOf()).toEqual({ status: 200, body: { ok: true } });

    const lostAt = Date.now();
    await sql(c.adminUrl, `ALTER ROLE replica_cut NOLOGIN`);
    await sql(c.adminUrl, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'replica_cut'`);
    const bad = await waitFor('/healthz to answer 503', async () => { const h = await healthOf(); return h.status === 503 ? h : null; }, 20_000, 100);
    expect(bad.body.ok).toBe(false);
    expect(bad.body.reason).toMatch(/^database (unreachable|did not answer)/);
    expect(JSON.stringify(bad.body)).not.toMatch(/replica_cut|127\.0\.0\.1|postgres/);
    const down = await lb.waitForStatus('cut', 'DOWN');
    const downMs = Date.now() - lostAt;
    expect(down.checkStatus).toBe('L7STS');
    expect((await lb.server('kept')).status).toBe('UP');
    // Everything now goes to the replica that has its database.
    const before = (await lb.server('kept')).total;
    for (let i = 0; i < 10; i++) expect((await fetch(`${lb.url}/.well-known/devlic-keys`)).status).toBe(200);
    expect((await lb.server('kept')).total - before).toBe(10);

    const backAt = Date.now();
    await sql(c.adminUrl, `ALTER ROLE replica_cut LOGIN`);
    await waitFor('/healthz to answer 200 again', async () => (await healthOf()).status === 200, 20_000, 100);
    const up = await lb.waitForStatus('cut', 'UP');
    expect(up.checkStatus).toBe('L7OK');
    console.log(`database lost -> HAProxy DOWN in ${downMs} ms; database back -> UP in ${Date.now() - backAt} ms`);
  }, 120_000);
});
