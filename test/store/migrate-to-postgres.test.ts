// `devlic-server migrate-to-postgres`: a SQLite site made by the real
// service (devices enrolled, a licence assigned, reports, a duplicate) is
// copied into a real PostgreSQL database by the real command; counts match
// per table, identity counters continue past the copied ids, and a target
// with data or a source that cannot be stored leaves PostgreSQL untouched.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TABLES_IN_FK_ORDER } from '../../service/store/postgres/copy-from-sqlite.ts';
import { adminClient } from '../helpers/admin.ts';
import { NODE, ROOT, startService, tempDir } from '../helpers/processes.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { fakeFacts, SimDevice } from '../helpers/sim-device.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';

const migrate = (...args: string[]) =>
  spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'migrate-to-postgres', ...args], { encoding: 'utf8', timeout: 120_000 });

function sqliteCounts(dataDir: string): Record<string, number> {
  const db = new Database(join(dataDir, 'devlic.db'), { readonly: true });
  try {
    return Object.fromEntries(TABLES_IN_FK_ORDER.map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

async function pgQuery<T = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function pgCounts(url: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES_IN_FK_ORDER) out[t] = Number((await pgQuery(url, `SELECT COUNT(*) AS n FROM ${t}`))[0].n);
  return out;
}

describePostgres('migrate-to-postgres', (cluster) => {
  let site = '';
  const made: string[] = [];
  const dir = (prefix: string) => { const d = tempDir(prefix); made.push(d); return d; };
  afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });
  beforeAll(async () => {
    const svc = await startService();
    try {
      const admin = adminClient(svc.url, svc.adminToken);
      await admin.ok('POST', '/groups', { name: 'Laptops' });
      await admin.ok('POST', '/groups', { name: 'Lab' });
      await admin.ok('POST', '/groups/Laptops/children', { group: 'Lab' });
      const token = (await admin.ok('POST', '/enroll-tokens', { uses: 50, group: 'Laptops' })).token;
      await admin.ok('POST', '/subscriptions', { product: SKU, seats: 3, name: 'EA' });
      const devices: SimDevice[] = [];
      for (let i = 0; i < 5; i++) {
        const d = new SimDevice(svc.url, fakeFacts(`laptop-${i}`));
        expect((await d.enroll(token)).status).toBe(201);
        devices.push(d);
      }
      // same hardware facts: enrolled as a flagged duplicate (devices.duplicate_of refers to devices)
      const twin = new SimDevice(svc.url, { ...devices[0].facts });
      expect((await twin.enroll(token)).status).toBe(201);
      await admin.ok('POST', '/licenses/assign', { subscription: 'EA', group: 'Laptops' });
      await admin.ok('POST', '/sign-in-domains', { netbios: 'CORP', dns: 'corp.example.com' });
      const report = { mode: 'full', reason: 'ASSIGNED', users: [{ name: 'pupil', mode: 'full' }], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: null };
      for (const d of devices) expect(await d.report(report)).toBe(204);
      for (const d of devices) await d.entitlement();
    } finally {
      await svc.stop();
    }
    site = svc.dataDir;
    made.push(dirname(site));
  });

  it('copies every table with matching counts, and identity counters continue', async () => {
    const url = await cluster().createDatabase();
    const before = sqliteCounts(site);
    for (const t of ['products', 'subscriptions', 'groups', 'group_children', 'devices', 'device_reports', 'group_members', 'assignments', 'device_entitlements', 'admins', 'audit', 'enroll_tokens', 'sign_in_domains']) {
      expect(before[t], t).toBeGreaterThan(0);
    }
    const r = migrate('--from', site, '--database', url, '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.fromEntries(report.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]))).toEqual(before);
    expect(report.seatCheck).toBe('passed');
    expect(report.keyring).toMatchObject({ keys: 1, siteKeyCreated: true });
    expect(await pgCounts(url)).toEqual(before);
    // same rows, not only as many: the entitlements and the duplicate link
    const src = new Database(join(site, 'devlic.db'), { readonly: true });
    try {
      const ents = src.prepare('SELECT device_id, seq, status, reason, token_iat FROM device_entitlements ORDER BY device_id').all();
      expect(await pgQuery(url, 'SELECT device_id, seq::int, status, reason, token_iat::float8 AS token_iat FROM device_entitlements ORDER BY device_id')).toEqual(ents);
      const dup = src.prepare('SELECT id, duplicate_of FROM devices WHERE duplicate_of IS NOT NULL').all();
      expect(dup).toHaveLength(1);
      expect(await pgQuery(url, 'SELECT id, duplicate_of FROM devices WHERE duplicate_of IS NOT NULL')).toEqual(dup);
      const maxAudit = (src.prepare('SELECT MAX(id) AS m FROM audit').get() as { m: number }).m;
      const [{ id }] = await pgQuery(url, "INSERT INTO audit (at, actor_id, actor_name, action, target, details) VALUES ('now', 'a', 'a', 'x', 't', '{}') RETURNING id");
      expect(Number(id)).toBe(maxAudit + 1);
      const maxOrd = (src.prepare('SELECT MAX(ord) AS m FROM group_members').get() as { m: number }).m;
      const [{ nextval }] = await pgQuery(url, "SELECT nextval(pg_get_serial_sequence('group_members', 'ord'))");
      expect(Number(nextval)).toBe(maxOrd + 1);
    } finally {
      src.close();
    }

    // A second run refuses: the target has devlic data now. Nothing changes.
    const countsAfter = await pgCounts(url);
    const again = migrate('--from', site, '--database', url);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already has devlic data.*\[CONFLICT\]/);
    expect(await pgCounts(url)).toEqual(countsAfter);
  });

  it('a row PostgreSQL cannot store rolls the whole copy back; the password is never printed', async () => {
    const url = await cluster().createDatabase();
    const bad = join(dir('pg-migrate-bad'), 'data');
    cpSync(site, bad, { recursive: true });
    const db = new Database(join(bad, 'devlic.db'));
    db.prepare("UPDATE audit SET details = 'a' || char(0) || 'b' WHERE id = (SELECT MAX(id) FROM audit)").run();
    db.close();
    const withPassword = url.replace('postgres@', 'postgres:s3cret-pw@');
    const r = migrate('--from', bad, '--database', withPassword);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/table audit holds text with a NUL character.*\[CONFLICT\]/);
    expect(r.stderr + r.stdout).not.toContain('s3cret-pw');
    // every table is there (migrated) and empty: earlier tables' rows went with the rollback
    expect(Object.values(await pgCounts(url)).every((n) => n === 0)).toBe(true);
  });

  it('bad input: a usage error or a clear message, and no database touched', async () => {
    expect(migrate('--database', 'postgres://x@127.0.0.1:1/x').status).toBe(2);
    const noUrl = spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'migrate-to-postgres', '--from', site],
      { encoding: 'utf8', env: { ...process.env, DEVLIC_DATABASE: '' } });
    expect(noUrl.status).toBe(2);
    expect(noUrl.stderr).toMatch(/needs --database URL/);
    const mysql = migrate('--from', site, '--database', 'mysql://root@localhost/x');
    expect(mysql.status).toBe(1);
    expect(mysql.stderr).toMatch(/'mysql:' URLs are not supported.*\[CONFIG_INVALID\]/);
    const empty = migrate('--from', dir('pg-migrate-none'), '--database', await cluster().createDatabase());
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/no devlic database at .*devlic\.db/);
    // nobody listens on port 1: the error names the server, with the password masked
    const down = migrate('--from', site, '--database', 'postgres://devlic:s3cret-pw@127.0.0.1:1/devlic');
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/cannot use the PostgreSQL database at postgres:\/\/devlic:\*\*\*@127\.0\.0\.1:1\/devlic.*\[CONFIG_INVALID\]/);
    expect(down.stderr).not.toContain('s3cret-pw');
  });
});
