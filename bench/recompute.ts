// The recompute alone, in-process: assign a subscription to a whole seeded
// fleet and unassign it again through the licensing core (the transaction,
// the recompute, the writes), timed by the wall clock and by this process's
// CPU time (less moved by other load on the machine than the wall clock),
// and on PostgreSQL the CPU time of the cluster's processes (its backends,
// WAL writer and the rest, from /proc) over the same call. DEVLIC_BENCH_COMPARE=DIR alternates
// with the same calls into another checkout of devlic (e.g. an older commit
// unpacked with `git archive`) on an identically seeded database of its own
// (made by its own migrations): a same-run pair. On PostgreSQL it also prints
// the WAL each call wrote (bytes and full-page images, pg_stat_wal).
// Run: node_modules/.bin/node bench/recompute.ts   (DEVLIC_BENCH_DEVICES=100000, DEVLIC_BENCH_ROUNDS=3, DEVLIC_BENCH_DATABASE=sqlite|postgres|both,
//   DEVLIC_BENCH_CHECKPOINT=1, DEVLIC_BENCH_PG_SETTINGS=wal_compression=lz4, DEVLIC_BENCH_PROFILE=DIR)
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { tempDir } from '../test/helpers/processes.ts';
import { seedFleet } from './seed-fleet.ts';
import { benchBackends, benchCluster, benchDatabase, stopBenchCluster } from './backend.ts';

const N = Number(process.env.DEVLIC_BENCH_DEVICES ?? 100_000);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 3);
const trees: [string, string][] = [['this', resolve(import.meta.dirname, '..')]];
if (process.env.DEVLIC_BENCH_COMPARE) trees.push(['compare', resolve(process.env.DEVLIC_BENCH_COMPARE)]);

/** The licensing core of one checkout, loaded from its own files. */
async function core(root: string) {
  const mod = (p: string) => import(pathToFileURL(join(root, p)).href);
  const [open, store, ctx, subs, asg] = await Promise.all([mod('service/store/open.ts'), mod('service/store/store.ts'), mod('service/licensing/context.ts'),
    mod('service/licensing/subscriptions.ts'), mod('service/licensing/assignments.ts')]);
  return { open: open.openSqlDatabase, createStore: store.createStore, Context: ctx.LicensingContext, actor: ctx.SYSTEM_ACTOR, createSubscription: subs.createSubscription, assign: asg.assign, unassign: asg.unassign };
}

/** CPU ms (user + system) of the PostgreSQL cluster: the postmaster and every process it started, live or exited (Linux /proc). */
async function clusterCpu(backend: string): Promise<number> {
  if (backend !== 'postgres') return 0;
  const postmaster = Number(readFileSync(join((await benchCluster()).dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let ms = 0;
  for (const pid of readdirSync('/proc').filter((f) => /^[0-9]+$/.test(f))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    // utime, stime; the postmaster's cutime, cstime hold its children that exited (parallel and autovacuum workers).
    if (Number(pid) === postmaster) ms += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * tick;
    else if (Number(f[1]) === postmaster) ms += (Number(f[11]) + Number(f[12])) * tick;
  }
  return ms;
}

/** The cluster's WAL position and full-page images written so far (PostgreSQL only; the cluster is shared by the run, nothing else writes meanwhile). */
async function walNow(url: string | null): Promise<{ lsn: string; fpi: number } | null> {
  if (!url) return null;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = (await c.query('SELECT pg_current_wal_lsn()::text AS lsn, (SELECT wal_fpi FROM pg_stat_wal) AS fpi')).rows[0];
    return { lsn: r.lsn, fpi: Number(r.fpi) };
  } finally {
    await c.end();
  }
}

/** WAL bytes and full-page images between two positions (0 on SQLite). */
async function walSince(url: string | null, from: { lsn: string; fpi: number } | null): Promise<{ bytes: number; fpi: number }> {
  if (!url || !from) return { bytes: 0, fpi: 0 };
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = (await c.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS bytes, (SELECT wal_fpi FROM pg_stat_wal) AS fpi', [from.lsn])).rows[0];
    return { bytes: Number(r.bytes), fpi: Number(r.fpi) - from.fpi };
  } finally {
    await c.end();
  }
}

/**
 * DEVLIC_BENCH_CHECKPOINT=1: a CHECKPOINT before each timed call, so that every page the call changes is
 * written whole into the WAL once (full-page images), as the first change after each checkpoint is in
 * production (checkpoint_timeout, 5 min by default); without it a run of minutes mostly sees none.
 */
async function checkpoint(url: string | null): Promise<void> {
  if (!url || process.env.DEVLIC_BENCH_CHECKPOINT !== '1') return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
}

/** DEVLIC_BENCH_PROFILE=DIR: a CPU profile of this process over each timed call of this checkout's code, written there (open in Chrome's DevTools). */
const profileDir = process.env.DEVLIC_BENCH_PROFILE;
const inspector = profileDir ? new Session() : null;
inspector?.connect();
const post = (method: string, params?: object) => new Promise<unknown>((res, rej) => inspector!.post(method, params, (err, r) => (err ? rej(err) : res(r))));
if (inspector) await post('Profiler.enable');

async function timed(fn: () => Promise<unknown>, backend: string, url: string | null, profileAs?: string): Promise<{ wall: number; cpu: number; db: number; walMiB: number; fpi: number }> {
  await checkpoint(url);
  const w0 = await walNow(url);
  const db0 = await clusterCpu(backend);
  if (inspector && profileAs) await post('Profiler.start');
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const wall = performance.now() - t;
  const d = process.cpuUsage(c);
  if (inspector && profileAs) {
    const { profile } = await post('Profiler.stop') as { profile: object };
    mkdirSync(profileDir!, { recursive: true });
    writeFileSync(join(profileDir!, `${profileAs}.cpuprofile`), JSON.stringify(profile));
  }
  const db = (await clusterCpu(backend)) - db0;
  const w = await walSince(url, w0);
  return { wall, cpu: (d.user + d.system) / 1000, db, walMiB: Math.round(w.bytes / 1024 / 102.4) / 10, fpi: w.fpi };
}

const rows: Record<string, string | number>[] = [];
const cores = await Promise.all(trees.map(async ([name, root]) => [name, await core(root)] as const));
for (const backend of benchBackends()) {
  // A database per checkout, each made by that checkout's own migrations (an older one refuses a newer schema), seeded alike.
  const sites = new Map<string, { dataDir: string; database: string | null; sub: string | null }>();
  for (const [name, c] of cores) {
    const dataDir = join(tempDir('recompute'), 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const database = await benchDatabase(backend);
    const db = await c.open({ dataDir, database, databasePoolSize: 4 });
    await seedCatalogue(createStore(db), new Date().toISOString());
    await seedFleet(db, { devices: N, groups: 1000 });
    await db.close();
    sites.set(name, { dataDir, database, sub: null });
  }
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round swaps which code goes first, so neither always meets a cache or a load the other left.
    for (const [name, c] of round % 2 ? cores : [...cores].reverse()) {
      const site = sites.get(name)!;
      const db = await c.open({ dataDir: site.dataDir, database: site.database, databasePoolSize: 4 });
      try {
        const ctx = new c.Context(c.createStore(db));
        site.sub ??= await c.createSubscription(ctx, c.actor, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'Fleet EA' });
        const load = loadavg()[0].toFixed(1);
        const profileAs = name === 'this' ? `${backend}-round${round}` : undefined;
        const a = await timed(() => c.assign(ctx, c.actor, site.sub!, 'All devices'), backend, site.database, profileAs && `${profileAs}-assign`);
        const u = await timed(() => c.unassign(ctx, c.actor, site.sub!, 'All devices', true), backend, site.database, profileAs && `${profileAs}-unassign`);
        const row = { backend, round, code: name, load, 'assign wall (ms)': Math.round(a.wall), 'assign cpu (ms)': Math.round(a.cpu), 'assign db cpu (ms)': Math.round(a.db),
          'unassign wall (ms)': Math.round(u.wall), 'unassign cpu (ms)': Math.round(u.cpu), 'unassign db cpu (ms)': Math.round(u.db),
          ...(backend === 'postgres' ? { 'assign WAL (MiB)': a.walMiB, 'assign FPI': a.fpi, 'unassign WAL (MiB)': u.walMiB, 'unassign FPI': u.fpi } : {}) };
        console.log(JSON.stringify(row));
        rows.push(row);
      } finally {
        await db.close();
      }
    }
  }
}
await stopBenchCluster();
console.table(rows);
// Same-run pairs: per backend and round, this code's CPU time against the other's (round 1 warms up, so from round 2 when there are more).
const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length ? (v[(v.length - 1) >> 1] + v[v.length >> 1]) / 2 : NaN; };
for (const backend of new Set(rows.map((r) => r.backend))) {
  const mine = rows.filter((r) => r.backend === backend && (ROUNDS < 2 || Number(r.round) >= 2));
  for (const op of ['assign', 'unassign']) {
    const k = `${op} cpu (ms)`;
    const of = (code: string) => mine.filter((r) => r.code === code).map((r) => Number(r[k]));
    const [a, b] = [of('this'), of('compare')];
    const wall = (code: string) => median(mine.filter((r) => r.code === code).map((r) => Number(r[`${op} wall (ms)`])));
    const less = a.filter((x, i) => b[i] !== undefined && x < b[i]).length;
    // Service and database CPU together: on a quiet machine, about the wall time less the waits for fsync.
    const both = (code: string) => median(mine.filter((r) => r.code === code).map((r) => Number(r[k]) + Number(r[`${op} db cpu (ms)`])));
    if (backend === 'postgres') console.log(`${backend} ${op}-all: service + database cpu median ${both('this')} ms${b.length ? ` vs ${both('compare')} ms before` : ''}`);
    console.log(`${backend} ${op}-all, ${a.length} rounds: cpu median ${median(a)} ms${b.length ? ` vs ${median(b)} ms before (less in ${less} of ${Math.min(a.length, b.length)} pairs)` : ''}; wall median ${wall('this')} ms${b.length ? ` vs ${wall('compare')} ms` : ''}; load ${mine.map((r) => r.load).join(', ')}`);
  }
}
