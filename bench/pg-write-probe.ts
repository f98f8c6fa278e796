// Probe (issue 12, sixth pass): shapes of the recompute's 100,000-row UPDATE on
// PostgreSQL, each inside its own rolled-back transaction, alternated round by
// round on one seeded fleet (assigned to all first, so the rows hold an answer).
// Run: node_modules/.bin/node bench/pg-write-probe.ts   (DEVLIC_BENCH_DEVICES=100000, DEVLIC_BENCH_ROUNDS=5)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import pg from 'pg';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../service/licensing/context.ts';
import { createSubscription } from '../service/licensing/subscriptions.ts';
import { assign } from '../service/licensing/assignments.ts';
import { tempDir } from '../test/helpers/processes.ts';
import { seedFleet } from './seed-fleet.ts';
import { benchDatabase, openBenchDatabase, stopBenchCluster } from './backend.ts';

const N = Number(process.env.DEVLIC_BENCH_DEVICES ?? 100_000);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 5);
const BULK = 20_000;
const dataDir = join(tempDir('pgprobe'), 'data');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const url = (await benchDatabase('postgres'))!;
const db = await openBenchDatabase(dataDir, url);
await seedCatalogue(createStore(db), new Date().toISOString());
await seedFleet(db, { devices: N, groups: 1000 });
const ctx = new LicensingContext(createStore(db));
const sub = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'Fleet EA' });
await assign(ctx, SYSTEM_ACTOR, sub, 'All devices');
await db.close();

const c = new pg.Client({ connectionString: url });
await c.connect();
const rows = (await c.query('SELECT device_id, ctid::text AS tid FROM device_entitlements')).rows as { device_id: string; tid: string }[];
const at = new Date().toISOString();
const to = ['unlicensed', 'not_assigned', null, null, null, at];
const all = `UPDATE device_entitlements SET seq = seq + 1, status = $1, reason = $2, product_sku = $3, subscription_id = $4, group_id = $5,
  changed_at = $6, token = NULL, token_iat = NULL`;
const variants: Record<string, () => Promise<number>> = {
  'by id, 5 x ANY': async () => {
    let n = 0;
    for (let i = 0; i < rows.length; i += BULK) n += (await c.query(`${all} WHERE device_id = ANY($7::text[])`, [...to, rows.slice(i, i + BULK).map((r) => r.device_id)])).rowCount!;
    return n;
  },
  'by ctid, 5 x ANY': async () => {
    let n = 0;
    for (let i = 0; i < rows.length; i += BULK) n += (await c.query(`${all} WHERE ctid = ANY($7::tid[])`, [...to, rows.slice(i, i + BULK).map((r) => r.tid)])).rowCount!;
    return n;
  },
  'by id, tokens only where set': async () => {
    let n = 0;
    const set = `UPDATE device_entitlements SET seq = seq + 1, status = $1, reason = $2, product_sku = $3, subscription_id = $4, group_id = $5, changed_at = $6`;
    for (let i = 0; i < rows.length; i += BULK) n += (await c.query(`${set} WHERE device_id = ANY($7::text[])`, [...to, rows.slice(i, i + BULK).map((r) => r.device_id)])).rowCount!;
    return n;
  },
};
const times: Record<string, number[]> = {};
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, fn] of round % 2 ? Object.entries(variants) : Object.entries(variants).reverse()) {
    await c.query('BEGIN');
    const t = performance.now();
    const n = await fn();
    const ms = performance.now() - t;
    await c.query('ROLLBACK');
    if (n !== rows.length) throw new Error(`${name}: ${n} rows`);
    (times[name] ??= []).push(Math.round(ms));
    console.log(JSON.stringify({ round, name, ms: Math.round(ms), load: loadavg()[0].toFixed(1) }));
  }
  await c.query('VACUUM device_entitlements'); // the rolled-back versions out of the pages, as autovacuum would
}
for (const [name, t] of Object.entries(times)) console.log(name, 'min', Math.min(...t), 'median', [...t].sort((a, b) => a - b)[t.length >> 1], 'ms');
await c.end();
await stopBenchCluster();
