// Probe (issue 12, ninth pass): shapes of the recompute's devices-by-answer
// read on PostgreSQL (`devices.allByAnswer`), each inside its own rolled-back
// transaction, alternated round by round on one seeded 100,000-device fleet
// as a first assign-all finds it (every device unlicensed). Timed by the
// wall clock (statement plus the decoding into arrays), this process's CPU
// and the database backend's own CPU (/proc). Also prints EXPLAIN ANALYZE of
// main's statement once (DEVLIC_BENCH_PROBE_NOHASHJOIN=1: with hash joins
// off), and the parts alone (the join grouped with counts only, the devices
// without the join), to say which part costs what; a merge join on the two
// primary keys (hash joins off; the bench cluster has the C collation); the
// two tables read side by side on two connections and joined here by id;
// the memberships read in both forms.
// Run: node_modules/.bin/node bench/pg-read-probe.ts   (DEVLIC_BENCH_DEVICES=100000, DEVLIC_BENCH_ROUNDS=7)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import pg from 'pg';
import { seedProbeFleet } from './pg-probe-fleet.ts';
import { stopBenchCluster } from './backend.ts';

const N = Number(process.env.DEVLIC_BENCH_DEVICES ?? 100_000);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 7);
const { url } = await seedProbeFleet('pgreadprobe', N);

const c = new pg.Client({ connectionString: url });
await c.connect();
const c2 = new pg.Client({ connectionString: url });
await c2.connect();
const pids = [(await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number, (await c2.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number];
/** CPU ms (user + system) of the two clients' database backends so far. */
function backendCpu(): number {
  let ms = 0;
  for (const pid of pids) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    ms += (Number(rest[11]) + Number(rest[12])) * 10;
  }
  return ms;
}

const cols = 'e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, (d.retired_at IS NOT NULL)::int AS retired';
const from = 'FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id';
const by = 'GROUP BY e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, retired';
const SEP = '\u0001';
type Out = { keys: number[]; ids: string[] }[];
const variants: Record<string, () => Promise<Out>> = {
  'json_agg keys and ids (main)': async () => {
    const r = await c.query(`SELECT ${cols}, json_agg(d.key)::text AS keys, json_agg(d.id)::text AS ids ${from} ${by}`);
    return r.rows.map((x) => ({ keys: JSON.parse(x.keys), ids: JSON.parse(x.ids) }));
  },
  'json_agg keys, string_agg ids': async () => {
    const r = await c.query(`SELECT ${cols}, json_agg(d.key)::text AS keys, string_agg(d.id, E'\\x01') AS ids ${from} ${by}`);
    return r.rows.map((x) => ({ keys: JSON.parse(x.keys), ids: x.ids.split(SEP) }));
  },
  'string_agg keys and ids': async () => {
    const r = await c.query(`SELECT ${cols}, string_agg(d.key::text, ',') AS keys, string_agg(d.id, E'\\x01') AS ids ${from} ${by}`);
    return r.rows.map((x) => ({ keys: (x.keys as string).split(',').map(Number), ids: x.ids.split(SEP) }));
  },
  'string_agg keys as json, ids': async () => {
    const r = await c.query(`SELECT ${cols}, '[' || string_agg(d.key::text, ',') || ']' AS keys, string_agg(d.id, E'\\x01') AS ids ${from} ${by}`);
    return r.rows.map((x) => ({ keys: JSON.parse(x.keys), ids: x.ids.split(SEP) }));
  },
  'string_agg, merge join (enable_hashjoin off)': async () => {
    await c.query("SELECT set_config('enable_hashjoin', 'off', true)");
    const r = await c.query(`SELECT ${cols}, '[' || string_agg(d.key::text, ',') || ']' AS keys, string_agg(d.id, E'\\x01') AS ids ${from} ${by}`);
    return r.rows.map((x) => ({ keys: JSON.parse(x.keys), ids: x.ids.split(SEP) }));
  },
  'two connections side by side, joined here by id': async () => {
    // Each table on its own connection (two backends, two cores), no join in the database: the answers' ids, then the
    // devices' keys, ids and flags; each device's answer looked up here by its id.
    const [ents, devs] = await Promise.all([
      c.query(`SELECT e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, string_agg(e.device_id, E'\\x01') AS ids FROM device_entitlements e
        GROUP BY e.status, e.reason, e.product_sku, e.subscription_id, e.group_id`),
      c2.query(`SELECT d.disabled, (d.retired_at IS NOT NULL)::int AS retired, '[' || string_agg(d.key::text, ',') || ']' AS keys, string_agg(d.id, E'\\x01') AS ids
        FROM devices d GROUP BY d.disabled, retired`),
    ]);
    const answerOf = new Map<string, number>();
    ents.rows.forEach((r, a) => { for (const id of (r.ids as string).split(SEP)) answerOf.set(id, a); });
    const groups = new Map<string, { keys: number[]; ids: string[] }>();
    for (const r of devs.rows) {
      const keys = JSON.parse(r.keys) as number[];
      const ids = (r.ids as string).split(SEP);
      for (let j = 0; j < ids.length; j++) {
        const g = `${answerOf.get(ids[j]) ?? -1}|${r.disabled}|${r.retired}`;
        let x = groups.get(g);
        if (!x) groups.set(g, (x = { keys: [], ids: [] }));
        x.keys.push(keys[j]);
        x.ids.push(ids[j]);
      }
    }
    return [...groups.values()];
  },
  'part: join grouped, counts only': async () => {
    const r = await c.query(`SELECT ${cols}, count(*) AS n ${from} ${by}`);
    return r.rows.map(() => ({ keys: [], ids: [] }));
  },
  'part: join alone, one count': async () => {
    await c.query(`SELECT count(*), count(e.status) ${from}`);
    return [];
  },
  'memberships: json_agg keys and ords (main)': async () => {
    const r = await c.query(`SELECT m.group_id, json_agg(d.key)::text AS keys, json_agg(m.ord)::text AS ords FROM group_members m JOIN devices d ON d.id = m.device_id GROUP BY m.group_id`);
    return r.rows.map((x) => ({ keys: JSON.parse(x.keys), ids: JSON.parse(x.ords) }));
  },
  'memberships: string_agg as json': async () => {
    const r = await c.query(`SELECT m.group_id, '[' || string_agg(d.key::text, ',') || ']' AS keys, '[' || string_agg(m.ord::text, ',') || ']' AS ords FROM group_members m JOIN devices d ON d.id = m.device_id GROUP BY m.group_id`);
    return r.rows.map((x) => ({ keys: JSON.parse(x.keys), ids: JSON.parse(x.ords) }));
  },
  'part: devices alone, json_agg': async () => {
    const r = await c.query(`SELECT d.disabled, json_agg(d.key)::text AS keys, json_agg(d.id)::text AS ids FROM devices d GROUP BY d.disabled`);
    return r.rows.map((x) => ({ keys: JSON.parse(x.keys), ids: JSON.parse(x.ids) }));
  },
};
const cpuOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const times: Record<string, { ms: number[]; cpu: number[]; db: number[] }> = {};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
await c.query('BEGIN');
await c.query("SELECT set_config('enable_sort', 'off', true)");
if (process.env.DEVLIC_BENCH_PROBE_NOHASHJOIN === '1') await c.query("SELECT set_config('enable_hashjoin', 'off', true)");
const plan = await c.query(`EXPLAIN (ANALYZE, BUFFERS) SELECT ${cols}, json_agg(d.key)::text AS keys, json_agg(d.id)::text AS ids ${from} ${by}`);
console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
await c.query('ROLLBACK');
let reference = '';
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, fn] of round % 2 ? Object.entries(variants) : Object.entries(variants).reverse()) {
    await c.query('BEGIN');
    await c2.query('BEGIN');
    await c.query("SELECT set_config('enable_sort', 'off', true)");
    const db0 = backendCpu();
    const u = process.cpuUsage();
    const t = performance.now();
    const out = await fn();
    const ms = performance.now() - t;
    const cpu = cpuOf(process.cpuUsage(u));
    const dbCpu = backendCpu() - db0;
    await c.query('ROLLBACK');
    await c2.query('ROLLBACK');
    if (!name.startsWith('part') && !name.startsWith('memb')) {
      // Every shape must return the same groups (the same devices, each with its key; the order within a group is compared in the tests).
      const canon = JSON.stringify(out.map((g) => g.keys.map((k, i) => `${k}:${g.ids[i]}`).sort().join(' ')).sort());
      if (!reference) reference = canon;
      else if (canon !== reference) throw new Error(`${name}: other groups`);
    }
    const x = (times[name] ??= { ms: [], cpu: [], db: [] });
    x.ms.push(Math.round(ms));
    x.cpu.push(Math.round(cpu));
    x.db.push(dbCpu);
    console.log(JSON.stringify({ round, name, ms: Math.round(ms), 'client cpu (ms)': Math.round(cpu), 'backend cpu (ms)': dbCpu, load: loadavg()[0].toFixed(1) }));
  }
}
for (const [name, t] of Object.entries(times)) {
  console.log(`${name}: wall min ${Math.min(...t.ms)} median ${median(t.ms)} ms; client cpu median ${median(t.cpu)} ms; backend cpu min ${Math.min(...t.db)} median ${median(t.db)} ms`);
}
await c.end();
await c2.end();
await stopBenchCluster();
