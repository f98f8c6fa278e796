// Probe (issue 12, sixth and eighth passes): shapes of the recompute's
// 100,000-row UPDATE on PostgreSQL, each inside its own rolled-back
// transaction, alternated round by round on one seeded fleet, timed by the
// wall clock and by the database backend's own CPU (/proc), with how many of
// the updates were HOT (no new index entry). By default the rows go from
// unlicensed to licensed, as in a fleet's first assign-all (each row grows by
// its product, subscription and group); DEVLIC_BENCH_PROBE_ASSIGNED=1 assigns
// first, so the rows shrink (an unassign-all). DEVLIC_BENCH_FILLFACTORS=50,40
// rewrites the table at each fill in turn (VACUUM FULL) and runs every shape
// on each, round by round.
// Run: node_modules/.bin/node bench/pg-write-probe.ts   (DEVLIC_BENCH_DEVICES=100000, DEVLIC_BENCH_ROUNDS=5)
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import pg from 'pg';
import { seedProbeFleet } from './pg-probe-fleet.ts';
import { stopBenchCluster } from './backend.ts';

const N = Number(process.env.DEVLIC_BENCH_DEVICES ?? 100_000);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 5);
const ASSIGNED = process.env.DEVLIC_BENCH_PROBE_ASSIGNED === '1';
const FILLS = (process.env.DEVLIC_BENCH_FILLFACTORS ?? '').split(',').filter((s) => s.trim()).map(Number);
const BULK = 20_000;
const { url, subscription: sub } = await seedProbeFleet('pgprobe', N, ASSIGNED);

const c = new pg.Client({ connectionString: url });
await c.connect();
const backend = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
/** CPU ms (user + system) of this client's database backend so far. */
function backendCpu(): number {
  const f = readFileSync(`/proc/${backend}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}
const rows = (await c.query('SELECT device_id, ctid::text AS tid FROM device_entitlements')).rows as { device_id: string; tid: string }[];
const ids = rows.map((r) => r.device_id);
const at = new Date().toISOString();
const to = ASSIGNED ? ['unlicensed', 'NOT_IN_LICENSED_GROUP', null, null, null, at] : ['licensed', 'LICENSED', 'M365_APPS_ENTERPRISE_DEVICE', sub, 'grp_fleet_all', at];
const all = `UPDATE device_entitlements SET seq = seq + 1, status = $1, reason = $2, product_sku = $3, subscription_id = $4, group_id = $5,
  changed_at = $6, token = NULL, token_iat = NULL`;
const variants: Record<string, () => Promise<number>> = {
  'by id, 5 x ANY (20,000 ids each)': async () => {
    let n = 0;
    for (let i = 0; i < ids.length; i += BULK) n += (await c.query(`${all} WHERE device_id = ANY($7::text[])`, [...to, ids.slice(i, i + BULK)])).rowCount!;
    return n;
  },
  'by id, 1 x ANY': async () => (await c.query(`${all} WHERE device_id = ANY($7::text[])`, [...to, ids])).rowCount!,
  'by id, 1 x unnest join': async () => (await c.query(`${all} FROM unnest($7::text[]) AS v(id) WHERE device_id = v.id`, [...to, ids])).rowCount!,
  'by ctid, 5 x ANY': async () => {
    let n = 0;
    for (let i = 0; i < rows.length; i += BULK) n += (await c.query(`${all} WHERE ctid = ANY($7::tid[])`, [...to, rows.slice(i, i + BULK).map((r) => r.tid)])).rowCount!;
    return n;
  },
};
const times: Record<string, { ms: number[]; cpu: number[]; hot: number[] }> = {};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (let round = 1; round <= ROUNDS; round++) {
  for (const fill of FILLS.length ? FILLS : [0]) {
    if (fill) {
      await c.query(`ALTER TABLE device_entitlements SET (fillfactor = ${Number(fill)})`);
      await c.query('VACUUM FULL device_entitlements');
      await c.query('CHECKPOINT');
    }
    const tids = new Map((await c.query('SELECT device_id, ctid::text AS tid FROM device_entitlements')).rows.map((r) => [r.device_id, r.tid]));
    for (const r of rows) r.tid = tids.get(r.device_id)!; // a rewrite moves the rows
    for (const [name, fn] of round % 2 ? Object.entries(variants) : Object.entries(variants).reverse()) {
      const label = fill ? `${name}, fillfactor ${fill}` : name;
      await c.query('BEGIN');
      // This backend's counts of earlier transactions may not be flushed yet: the difference is this statement's.
      const stat = "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'device_entitlements'";
      const s0 = (await c.query(stat)).rows[0];
      const cpu0 = backendCpu();
      const t = performance.now();
      const n = await fn();
      const ms = performance.now() - t;
      const cpu = backendCpu() - cpu0;
      const s1 = (await c.query(stat)).rows[0];
      await c.query('ROLLBACK');
      if (n !== rows.length) throw new Error(`${label}: ${n} rows`);
      const hot = Number(s1.hot) - Number(s0.hot);
      const x = (times[label] ??= { ms: [], cpu: [], hot: [] });
      x.ms.push(Math.round(ms));
      x.cpu.push(cpu);
      x.hot.push(hot);
      console.log(JSON.stringify({ round, name: label, ms: Math.round(ms), 'backend cpu (ms)': cpu, hot, load: loadavg()[0].toFixed(1) }));
      await c.query('VACUUM device_entitlements'); // the rolled-back versions out of the pages, as autovacuum would
    }
  }
}
for (const [name, t] of Object.entries(times)) {
  console.log(`${name}: wall min ${Math.min(...t.ms)} median ${median(t.ms)} ms; backend cpu min ${Math.min(...t.cpu)} median ${median(t.cpu)} ms; HOT ${median(t.hot)} of ${rows.length}`);
}
await c.end();
await stopBenchCluster();
