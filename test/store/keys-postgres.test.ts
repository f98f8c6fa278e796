// `devlic-server keys list|rotate|retire` on a PostgreSQL site, on a real
// throwaway cluster with real `serve --database` replicas: the keyring in the
// database is listed, rotated and retired by the real command; a replica
// started after a rotation signs with the new key and an enrolled device
// reaches it through the chain (the agent's own rule); a wrong or missing
// site key is refused with nothing changed; two rotations at once are
// serialised by the database and lose no key.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, it, vi } from 'vitest';
import { extendPins } from '../../shared/keychain.ts';
import { databaseKeyring } from '../../service/keyring-db.ts';
import { listKeys, loadOrCreateKeys, rotateKey } from '../../service/keys.ts';
import { openPostgres } from '../../service/store/postgres/open.ts';
import type { CliResult } from '../agent/helpers/agent.ts';
import { adminClient } from '../helpers/admin.ts';
import { verifyAsAgent } from '../helpers/agent-trust.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { NODE, ROOT, startService, tempDir, type ServiceProcess } from '../helpers/processes.ts';
import { fakeFacts, SimDevice } from '../helpers/sim-device.ts';

vi.setConfig({ testTimeout: 240_000 });

function keys(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(ROOT, 'service/main.ts'), 'keys', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVLIC_DATABASE: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function storedRing(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('SELECT ring FROM signing_keyring WHERE id = 1')).rows[0]?.ring ?? null;
  } finally {
    await c.end();
  }
}

const made: string[] = [];
const services: ServiceProcess[] = [];
const newDataDir = () => { const d = join(tempDir('pgkeys'), 'data'); made.push(dirname(d)); mkdirSync(d, { mode: 0o700 }); return d; };
afterAll(async () => {
  for (const s of services) await s.stop();
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describePostgres('devlic-server keys on PostgreSQL', (cluster) => {
  it('list, rotate, retire on the database; a replica started after the rotation signs with the new key, which the device reaches through the chain', async () => {
    const url = await cluster().createDatabase();
    const first = await startService({ dataDir: newDataDir(), config: { database: url } });
    services.push(first);
    const admin = adminClient(first.url, first.adminToken);
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 5, name: 'EA' });
    await admin.ok('POST', '/groups', { name: 'Laptops' });
    await admin.ok('POST', '/licenses/assign', { subscription: 'EA', group: 'Laptops' });
    const token = (await admin.ok('POST', '/enroll-tokens', { uses: 5, group: 'Laptops' })).token;
    const device = new SimDevice(first.url, fakeFacts('pg-keys-1'));
    expect((await device.enroll(token)).status).toBe(201);
    const k0 = device.enrollment!.keys.keys[0].kid!;

    const help = await keys(['--help']);
    expect(help.stdout).toMatch(/--database URL[\s\S]*restart the replicas one at a time \(a rolling restart\)/);

    const d = first.dataDir;
    const list0 = await keys(['list', '--database', url, '--data-dir', d, '--json']);
    expect(list0.code, list0.stderr).toBe(0);
    expect(JSON.parse(list0.stdout)).toEqual([expect.objectContaining({ kid: k0, state: 'active' })]);

    // The database setting from DEVLIC_DATABASE, as serve reads it.
    const rot = await keys(['rotate', '--data-dir', d], { DEVLIC_DATABASE: url });
    expect(rot.code, rot.stderr).toBe(0);
    expect(rot.stdout).toMatch(/endorsed by .* \(now previous\)[\s\S]*restart every replica, one at a time/);
    const k1 = (await listKeys(databaseKeyring(await keepOpen(url), d))).at(-1)!.kid;
    expect(k1).not.toBe(k0);

    // A second replica: its own data folder with a copy of the site key, from a settings file.
    const d2 = newDataDir();
    copyFileSync(join(d, 'site-key'), join(d2, 'site-key'));
    copyFileSync(join(d, 'admin-token'), join(d2, 'admin-token')); // only the first replica writes it
    const second = await startService({ dataDir: d2, config: { database: url } });
    services.push(second);
    const e = new SimDevice(second.url, device.facts);
    Object.assign(e, { privateKey: device.privateKey, publicKey: device.publicKey, deviceId: device.deviceId, enrollment: device.enrollment });
    const ent = await e.entitlement();
    expect(ent.status).toBe(200);
    const v = await verifyAsAgent(device, second.url, ent.body.token);
    expect(v).toMatchObject({ kid: k1, added: [k1], claims: { status: 'licensed' } });

    // The old key can be retired once its tokens expired; list via a settings file.
    const cfg = join(dirname(d2), 'server.json');
    writeFileSync(cfg, JSON.stringify({ dataDir: d2, database: url }));
    const ret = await keys(['retire', k0, '--config', cfg]);
    expect(ret.code, ret.stderr).toBe(0);
    expect(ret.stdout).toMatch(`Key ${k0} retired; restart every replica`);
    const list = JSON.parse((await keys(['list', '--config', cfg, '--json'])).stdout);
    expect(list.map((k: any) => [k.kid, k.state])).toEqual([[k0, 'retired'], [k1, 'active']]);
    // A refusal (the active key) changes nothing.
    const before = await storedRing(url);
    const active = await keys(['retire', k1, '--config', cfg]);
    expect(active.code).toBe(1);
    expect(active.stderr).toMatch(/is the active signing key; rotate first.*\[CONFLICT\]/);
    expect(await storedRing(url)).toBe(before);
  });

  it('a wrong or missing site key: a clear error, exit 1, nothing changed', async () => {
    const url = await cluster().createDatabase();
    const d = newDataDir();
    const db = await keepOpen(url);
    await loadOrCreateKeys(databaseKeyring(db, d));
    const before = await storedRing(url);
    expect(before).toMatch(/enc:v1:/);
    expect(before).not.toMatch(/PRIVATE KEY/);

    const missing = newDataDir();
    for (const cmd of [['list'], ['rotate']]) {
      const r = await keys([...cmd, '--database', url, '--data-dir', missing]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/site-key does not exist: copy that replica's site-key file here.*\[CONFIG_INVALID\]/);
    }
    const wrong = newDataDir();
    writeFileSync(join(wrong, 'site-key'), `${Buffer.alloc(32, 7).toString('base64url')}\n`, { mode: 0o600 });
    const w = await keys(['rotate', '--database', url, '--data-dir', wrong]);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/is not the site key the database's signing keys were sealed with.*\[CONFIG_INVALID\]/);
    expect(await storedRing(url)).toBe(before);

    // A database no service ever used: no schema is made by a key command.
    const blank = await cluster().createDatabase();
    const b = await keys(['list', '--database', blank, '--data-dir', d]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/no devlic tables in the database.*first start.*\[NOT_FOUND\]/);
  });

  it('two rotations at once: the database serialises them and no key is lost', async () => {
    const url = await cluster().createDatabase();
    const d = newDataDir();
    const ring = databaseKeyring(await keepOpen(url), d);
    const k0 = await loadOrCreateKeys(ring);
    const [a, b] = await Promise.all([
      keys(['rotate', '--database', url, '--data-dir', d, '--json']),
      keys(['rotate', '--database', url, '--data-dir', d, '--json']),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [ra, rb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    // One followed the other: the second endorsed the first's new key.
    const order = ra.previous === k0.signing.kid ? [ra, rb] : [rb, ra];
    expect(order[0].previous).toBe(k0.signing.kid);
    expect(order[1].previous).toBe(order[0].kid);
    const now = await loadOrCreateKeys(ring);
    expect(now.jwks.keys.map((k) => k.kid)).toEqual([k0.signing.kid, order[0].kid, order[1].kid]);
    const added = await extendPins({ pinned: k0.jwks.keys, issuer: now.issuer, links: now.chain, want: order[1].kid });
    expect(added.map((k) => k.kid)).toEqual([order[0].kid, order[1].kid]);
    // And in-process rotations go through the same lock.
    await Promise.all([rotateKey(ring), rotateKey(ring)]);
    expect(await listKeys(ring)).toHaveLength(5);
  });
});

const pools: Awaited<ReturnType<typeof openPostgres>>[] = [];
async function keepOpen(url: string) {
  const db = await openPostgres(url, { poolSize: 2 });
  pools.push(db);
  return db;
}
afterAll(async () => { for (const p of pools) await p.close(); });
