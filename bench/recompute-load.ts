// The recompute's two big reads alone, old shape against new, in one
// process on one seeded fleet (100,000 devices, 1,000 groups): every device
// with its answer as one row each (the query before issue 12's fourth pass)
// against devices grouped by answer with their keys and ids as JSON arrays
// (the query the recompute now makes), and the
// memberships one row each against one row per group. Prints wall and
// process CPU per query and round (the database's own CPU is not in it on
// PostgreSQL). A probe for bench/README.md, not a test of the service.
// Run: node_modules/.bin/node bench/recompute-load.ts   (DB=postgres for PostgreSQL)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlDatabase } from '../service/store/open.ts';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { tempDir } from '../test/helpers/processes.ts';
import { seedFleet } from './seed-fleet.ts';
import { benchDatabase, stopBenchCluster } from './backend.ts';
const pgsql = process.env.DB === 'postgres';
const dataDir = join(tempDir('load'), 'data'); mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const db = await openSqlDatabase({ dataDir, database: await benchDatabase(pgsql ? 'postgres' : 'sqlite'), databasePoolSize: 4 });
await seedCatalogue(createStore(db), new Date().toISOString());
await seedFleet(db, { devices: 100000, groups: 1000 });
const K = pgsql ? 'd.key' : 'd.rowid';
const q: Record<string, [string, (r: any[]) => unknown]> = {
  cur: [`SELECT ${K} AS key, d.id, d.disabled, d.retired_at, (d.retired_at IS NOT NULL) AS retired, e.status, e.reason, e.product_sku, e.subscription_id, e.group_id FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id`, (r) => r.length],
  grouped: pgsql ? [`SELECT e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, (d.retired_at IS NOT NULL) AS retired, json_agg(${K})::text AS keys, json_agg(d.id)::text AS ids FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id GROUP BY 1,2,3,4,5,6,7`, (r) => r.map((x) => [JSON.parse(x.keys), JSON.parse(x.ids)])]
    : [`SELECT e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, (d.retired_at IS NOT NULL) AS retired, json_group_array(${K}) AS keys, json_group_array(d.id) AS ids, json_group_array(e.rowid) AS erows FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id GROUP BY 1,2,3,4,5,6,7`, (r) => r.map((x) => [JSON.parse(x.keys), JSON.parse(x.ids), JSON.parse(x.erows)])],
  memcur: [`SELECT m.group_id AS "groupId", ${K} AS "deviceKey", m.ord FROM group_members m JOIN devices d ON d.id = m.device_id`, (r) => r.length],
  memgrp: pgsql ? [`SELECT m.group_id AS "groupId", json_agg(${K})::text AS keys, json_agg(m.ord)::text AS ords FROM group_members m JOIN devices d ON d.id = m.device_id GROUP BY m.group_id`, (r) => r.map((x) => [JSON.parse(x.keys), JSON.parse(x.ords)])]
    : [`SELECT m.group_id AS "groupId", json_group_array(${K}) AS keys, json_group_array(m.ord) AS ords FROM group_members m JOIN devices d ON d.id = m.device_id GROUP BY m.group_id`, (r) => r.map((x) => [JSON.parse(x.keys), JSON.parse(x.ords)])],
};
for (let round = 0; round < 3; round++) for (const [k, [sql, post]] of Object.entries(q)) {
  const c = process.cpuUsage(); const w = performance.now();
  await db.transaction(async (tx) => { post(await tx.all(sql)); });
  const d = process.cpuUsage(c);
  console.log(k, 'wall', Math.round(performance.now() - w), 'cpu', Math.round((d.user + d.system) / 1000));
}
await db.close(); await stopBenchCluster();
