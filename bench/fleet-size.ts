// Fleet size: a real devlic-server on a database seeded with N devices in
// 1,000 groups (nested in one "All devices" group). Prints, per fleet size,
// the time to assign a subscription to the whole fleet and to unassign it,
// to list a page of unlicensed devices, and the database size. The smallest
// fleet in the same run is the baseline the large one is compared with.
// Run: node_modules/.bin/node bench/fleet-size.ts   (DEVLIC_BENCH_FLEETS=1000,100000)
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../service/store/sqlite/open.ts';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { startService, tempDir } from '../test/helpers/processes.ts';
import { adminClient } from '../test/helpers/admin.ts';
import { seedFleet } from './seed-fleet.ts';

const FLEETS = (process.env.DEVLIC_BENCH_FLEETS ?? '1000,100000').split(',').map(Number);
const GROUPS = 1000;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

function dbSize(dir: string): number {
  return ['devlic.db', 'devlic.db-wal'].map((f) => join(dir, f)).filter(existsSync).reduce((n, f) => n + statSync(f).size, 0);
}

const rows: Record<string, string | number>[] = [];
for (const n of FLEETS) {
  const dataDir = join(tempDir('fleet'), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openSqlite(join(dataDir, 'devlic.db'));
  await seedCatalogue(createStore(db), new Date().toISOString());
  const [, seedMs] = await timed(async () => seedFleet(db, { devices: n, groups: Math.min(GROUPS, n) }));
  await db.close();
  const svc = await startService({ dataDir });
  try {
    const admin = adminClient(svc.url, svc.adminToken);
    const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: n, name: 'Fleet EA' });
    const [page, listMs] = await timed(() => admin.ok('GET', '/devices?licensed=false&limit=100'));
    if (page.items.length !== Math.min(100, n)) throw new Error(`expected a full page, got ${page.items.length}`);
    const [asg, assignMs] = await timed(() => admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'All devices' }));
    if (asg.devicesReached !== n) throw new Error(`assignment reached ${asg.devicesReached}, expected ${n}`);
    const [, listLicensedMs] = await timed(() => admin.ok('GET', `/devices?licensed=true&limit=100&offset=${Math.floor(n / 2)}`));
    const [, subsMs] = await timed(() => admin.ok('GET', '/subscriptions'));
    const [un, unassignMs] = await timed(() => admin.ok('POST', '/licenses/unassign', { subscription: sub.id, group: 'All devices', confirm: true }));
    if (un.devicesAffected !== n) throw new Error(`unassign affected ${un.devicesAffected}, expected ${n}`);
    rows.push({
      devices: n, groups: Math.min(GROUPS, n), 'seed (ms)': Math.round(seedMs), 'assign all (ms)': Math.round(assignMs),
      'unassign all (ms)': Math.round(unassignMs), 'unlicensed page (ms)': Math.round(listMs),
      'licensed page @middle (ms)': Math.round(listLicensedMs), 'list subscriptions (ms)': Math.round(subsMs),
      'db size (MiB)': +(dbSize(dataDir) / 1048576).toFixed(1),
    });
  } finally {
    await svc.stop();
  }
}
console.table(rows);
if (rows.length > 1) {
  const [base, big] = [rows[0], rows[rows.length - 1]];
  const ratio = (k: string) => (Number(big[k]) / Math.max(1, Number(base[k]))).toFixed(1);
  console.log(`${big.devices} vs ${base.devices} devices (x${Number(big.devices) / Number(base.devices)}): assign x${ratio('assign all (ms)')}, unassign x${ratio('unassign all (ms)')}, unlicensed page x${ratio('unlicensed page (ms)')}`);
}
