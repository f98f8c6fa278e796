// migrate-to-postgres end to end, as an admin would do it: a real SQLite
// service with enrolled devices and a licence assignment (fewer seats than
// devices) is stopped and migrated by the real command; a real service on
// PostgreSQL with the same data folder then answers the same devices, without
// re-enrollment, with tokens that verify against the keys they pinned (the
// agent's rule) and the same licence status. Refusals roll everything back:
// a seat check that fails, a database that already has a keyring, a site
// without its keyring file.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { databaseKeyring } from '../../service/keyring-db.ts';
import { loadOrCreateKeys } from '../../service/keys.ts';
import { openPostgres } from '../../service/store/postgres/open.ts';
import { adminClient } from '../helpers/admin.ts';
import { verifyAsAgent } from '../helpers/agent-trust.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { NODE, ROOT, startService, tempDir } from '../helpers/processes.ts';
import { fakeFacts, SimDevice } from '../helpers/sim-device.ts';

vi.setConfig({ testTimeout: 240_000 });

const migrate = (...args: string[]) =>
  spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'migrate-to-postgres', ...args], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, DEVLIC_DATABASE: '' } });

async function pgRows<T = any>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** The same device (id, key, pinned keys) talking to another service URL. */
function at(device: SimDevice, url: string): SimDevice {
  const d = new SimDevice(url, device.facts);
  Object.assign(d, { privateKey: device.privateKey, publicKey: device.publicKey, deviceId: device.deviceId, enrollment: device.enrollment });
  return d;
}

const made: string[] = [];
const copyOf = (site: string) => { const d = join(tempDir('pgmig'), 'data'); made.push(dirname(d)); cpSync(site, d, { recursive: true }); return d; };
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

describePostgres('migrate-to-postgres moves the keys and checks seats', (cluster) => {
  let site = '';
  const devices: SimDevice[] = [];
  const statusBefore = new Map<string, string>();
  beforeAll(async () => {
    const svc = await startService();
    made.push(dirname(svc.dataDir));
    try {
      const admin = adminClient(svc.url, svc.adminToken);
      await admin.ok('POST', '/groups', { name: 'Laptops' });
      await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 2, name: 'EA' });
      const token = (await admin.ok('POST', '/enroll-tokens', { uses: 10, group: 'Laptops' })).token;
      for (let i = 0; i < 3; i++) {
        const d = new SimDevice(svc.url, fakeFacts(`mig-${i}`));
        expect((await d.enroll(token)).status).toBe(201);
        devices.push(d);
      }
      await admin.ok('POST', '/licenses/assign', { subscription: 'EA', group: 'Laptops' });
      for (const d of devices) {
        const e = await d.entitlement();
        expect(e.status).toBe(200);
        statusBefore.set(d.deviceId, (await verifyAsAgent(d, svc.url, e.body.token)).claims.status);
      }
      // Two seats, three devices: the allocation itself must survive the move.
      expect([...statusBefore.values()].sort()).toEqual(['licensed', 'licensed', 'unlicensed']);
    } finally {
      await svc.stop();
    }
    site = svc.dataDir;
  });

  it('a migrated site answers its enrolled devices with the keys they pinned, no re-enrollment', async () => {
    const url = await cluster().createDatabase();
    const dir = copyOf(site);
    const r = migrate('--from', dir, '--database', url);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/row counts match:\n(  \w+ +\d+\n)+/);
    expect(r.stdout).toMatch(/^  devices +3$/m);
    expect(r.stdout).toMatch(/^  assignments +1$/m);
    expect(r.stdout).toMatch(/^  device_entitlements +3$/m);
    expect(r.stdout).toContain('Seat check passed');
    expect(r.stdout).toMatch(new RegExp(`Copied 1 signing key\\(s\\) \\(active ${devices[0].enrollment!.keys.keys[0].kid}\\)`));
    expect(r.stdout).toContain(`Copy ${join(dir, 'site-key')} (mode 0600) and ${dir}/admin-token into every replica's data folder`);
    expect(statSync(join(dir, 'site-key')).mode & 0o777).toBe(0o600);
    const [row] = await pgRows(url, 'SELECT ring FROM signing_keyring');
    expect(row.ring).toMatch(/enc:v1:/);
    expect(row.ring).not.toMatch(/PRIVATE KEY/);

    const svc = await startService({ dataDir: dir, config: { database: url } });
    try {
      expect(svc.output()).not.toMatch(/error/i);
      for (const old of devices) {
        const d = at(old, svc.url);
        const e = await d.entitlement();
        expect(e.status, JSON.stringify(e.body)).toBe(200);
        const v = await verifyAsAgent(d, svc.url, e.body.token);
        expect(v.added).toEqual([]); // signed by the very key the device pinned at enrollment
        expect(v.claims.status).toBe(statusBefore.get(d.deviceId));
      }
      // The device count is unchanged: nobody re-enrolled.
      const admin = adminClient(svc.url, svc.adminToken);
      expect((await admin.ok('GET', '/devices')).items).toHaveLength(3);
    } finally {
      await svc.stop();
    }
  });

  it('refuses when a recompute on the copy would change a licence status, naming how many and which; nothing is copied', async () => {
    const url = await cluster().createDatabase();
    const dir = copyOf(site);
    const db = new Database(join(dir, 'devlic.db'));
    const victim = db.prepare("SELECT device_id FROM device_entitlements WHERE status = 'licensed' ORDER BY device_id LIMIT 1").get() as { device_id: string };
    db.prepare("UPDATE device_entitlements SET status = 'unlicensed' WHERE device_id = ?").run(victim.device_id);
    db.close();
    const r = migrate('--from', dir, '--database', url);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`seat check failed: 1 device\\(s\\) would change licence status on PostgreSQL \\(${victim.device_id} unlicensed -> licensed\\); nothing was copied.*\\[CONFLICT\\]`));
    expect(await pgRows(url, 'SELECT 1 FROM devices UNION ALL SELECT 1 FROM device_entitlements UNION ALL SELECT 1 FROM signing_keyring')).toEqual([]);
  });

  it('refuses a database that already has a keyring, and a site without its keyring file; nothing is copied', async () => {
    const url = await cluster().createDatabase();
    const pgdb = await openPostgres(url, { poolSize: 1 });
    const other = tempDir('pgmig-other');
    made.push(other);
    try {
      await loadOrCreateKeys(databaseKeyring(pgdb, other));
    } finally {
      await pgdb.close();
    }
    const ringBefore = await pgRows(url, 'SELECT ring FROM signing_keyring');
    const r = migrate('--from', copyOf(site), '--database', url);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already has a signing keyring.*\[CONFLICT\]/);
    expect(await pgRows(url, 'SELECT ring FROM signing_keyring')).toEqual(ringBefore);
    expect(await pgRows(url, 'SELECT 1 FROM devices')).toEqual([]);

    const bare = copyOf(site);
    rmSync(join(bare, 'signing-key.json'));
    const url2 = await cluster().createDatabase();
    const n = migrate('--from', bare, '--database', url2);
    expect(n.status).toBe(1);
    expect(n.stderr).toMatch(/no signing key in .*every enrolled agent would reject.*\[NOT_FOUND\]/);
    expect(await pgRows(url2, 'SELECT 1 FROM devices UNION ALL SELECT 1 FROM signing_keyring')).toEqual([]);
  });
});
