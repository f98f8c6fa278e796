// What waking one waiting device costs one replica: N devices wait on
// long-polls (the light clients and seeding of longpolls.ts, coming online
// with their seeded ETag so nothing is signed before the measured assign),
// one assign wakes them all, and each gets a freshly signed token. Printed
// per run: answers p50/p99, and the service process's CPU (all its threads:
// event loop, signing workers, GC) from the assign until the last device has
// its answer, divided by the devices woken, and the event loop's share (the
// main thread alone: the part no signing thread can take over). That window also holds the
// assign's own transaction and recompute and each device's re-armed
// long-poll, as in production.
// Same-run pairs: with DEVLIC_BENCH_COMPARE=DIR (another checkout of the
// project, e.g. `git archive` of main with node_modules linked) each round
// runs that code's service and this one's, alternating.
// Run: node_modules/.bin/node bench/wake-cost.ts
//   DEVLIC_BENCH_POLLS=5000, DEVLIC_BENCH_ROUNDS=2, DEVLIC_BENCH_DATABASE=sqlite (or postgres),
//   DEVLIC_BENCH_COMPARE=/tmp/wake-before, DEVLIC_BENCH_PROFILE=DIR (--cpu-prof of each service, summarised;
//   DEVLIC_BENCH_PROFILE_INTERVAL=100 µs between samples)
// DEVLIC_BENCH_SERVE_WORKERS=1,2 (PostgreSQL only): this code's service run with
// each `serve --workers` count in turn, alternated per round; the CPU is then
// the primary's and every worker's, and 'busiest event loop' is the largest
// one worker's main thread spent in the window (what bounds the wake's end).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, tempDir, waitFor } from '../test/helpers/processes.ts';
import { adminClient } from '../test/helpers/admin.ts';
import { SEEDED_SEQ, seedPollers } from './seed-pollers.ts';
import { heldLongPolls, percentile, startLightFleet } from './longpoll-fleet.ts';
import { benchBackends, benchDatabase, stopBenchCluster } from './backend.ts';
import { cpuSeconds, summariseProfile } from './cpu-accounting.ts';
import { serveCheckout } from './serve-checkout.ts';

const N = Number(process.env.DEVLIC_BENCH_POLLS ?? 5000);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 2);
const COMPARE = process.env.DEVLIC_BENCH_COMPARE ? resolve(process.env.DEVLIC_BENCH_COMPARE) : null;
const PROFILE = process.env.DEVLIC_BENCH_PROFILE ? resolve(process.env.DEVLIC_BENCH_PROFILE) : null;
/** Sampling interval of --cpu-prof (Node's default is 1000 µs: too coarse for a 1-2 s window). */
const PROFILE_INTERVAL_US = Number(process.env.DEVLIC_BENCH_PROFILE_INTERVAL ?? 100);
const [BACKEND] = benchBackends('sqlite');
const WORKERS = Math.max(2, Math.ceil(N / 9000));
const SERVE_WORKERS = (process.env.DEVLIC_BENCH_SERVE_WORKERS ?? '1').split(',').map((x) => Number(x.trim()));
if (SERVE_WORKERS.some((w) => !(w >= 1))) throw new Error('DEVLIC_BENCH_SERVE_WORKERS: a comma list of worker counts, e.g. 1,2');

/** The service's processes: the pid, and with workers its children (the cluster's workers). */
function processesOf(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return [pid, ...(children ? children.split(' ').map(Number) : [])];
}

/** CPU seconds of a process's main thread alone (the event loop; its task id is the pid), user and system: Linux /proc. */
function mainThreadSeconds(pid: number): { user: number; system: number; total: number } {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(f[11]) / 100, system = Number(f[12]) / 100;
  return { user, system, total: user + system };
}

async function run(label: string, root: string, round: number, workers: number) {
  const dataDir = join(tempDir(`wake-${label}`), 'data');
  const database = await benchDatabase(BACKEND);
  const seeded = await seedPollers(dataDir, N, 'Pollers', database);
  const profDir = PROFILE ? join(PROFILE, `${label}-${round}`) : null;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const svc = await serveCheckout(root, dataDir, {
    database, workers, maxLongPolls: Math.min(19_935, Math.max(N, 19_000)),
    nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${PROFILE_INTERVAL_US}`] : [],
  });
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const load = loadavg()[0];
  try {
    const admin = adminClient(svc.url, adminToken);
    const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'Wake EA' });
    const fleet = startLightFleet({ port: svc.port, tokensFile: seeded.tokensFile, devices: N, workers: WORKERS, knownEtag: `"${SEEDED_SEQ}"` });
    let held = 0;
    await waitFor('all long-polls held', async () => (held = await heldLongPolls(svc.url)) >= N, 180_000, 250)
      .catch(() => console.log(`${label}: only ${held} of ${N} long-polls held`));
    // Let the opening's last requests settle, so the CPU counted is the wake's.
    await new Promise((r) => setTimeout(r, 1000));
    const pids = processesOf(svc.proc.pid!);
    const cpu0 = pids.map(cpuSeconds);
    const main0 = pids.map(mainThreadSeconds);
    const assignedAt = Date.now();
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: seeded.groupName });
    const assignMs = Date.now() - assignedAt;
    await waitFor('all answered', () => fleet.progress().answered >= held, 180_000, 5).catch(() => {});
    const cpu1 = pids.map(cpuSeconds);
    const main1 = pids.map(mainThreadSeconds);
    const wallS = (Date.now() - assignedAt) / 1000;
    const endedAt = performance.now();
    const { answers } = await fleet.answers();
    fleet.stop();
    await svc.stop();
    if (profDir) {
      const gap = (performance.now() - endedAt) / 1000;
      writeFileSync(join(profDir, 'window.json'), JSON.stringify({ endGapSeconds: gap, seconds: wallS }));
      for (const f of readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'))) summariseProfile(`${label} round ${round} ${f}`, join(profDir, f), gap, wallS);
    }
    const lat = answers.map(([at]) => at - assignedAt).sort((a, b) => a - b);
    if (process.env.DEVLIC_BENCH_HISTOGRAM) {
      // Answers per 100 ms after the assign: shows where the wake waits (a gap) and where it is bound by CPU (a steady rate).
      const bins = new Map<number, number>();
      for (const l of lat) bins.set(Math.floor(l / 100), (bins.get(Math.floor(l / 100)) ?? 0) + 1);
      console.log(`${label}: answers per 100 ms from the assign:`, [...bins].map(([b, n]) => `${b * 100}:${n}`).join(' '));
    }
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const cpu = sum(cpu1) - sum(cpu0);
    const loops = main1.map((m, i) => m.total - main0[i].total);
    const system = sum(main1.map((m) => m.system)) - sum(main0.map((m) => m.system));
    // With workers the primary (index 0) serves nothing: the busiest event loop is a worker's.
    const busiest = Math.max(...(workers > 1 ? loops.slice(1) : loops));
    return {
      code: workers > 1 ? `${label} ×${workers}` : label, round, load: +load.toFixed(1), devices: lat.length, 'wrong (must be 0)': answers.filter(([, l]) => l !== 1).length,
      'assign ms': assignMs, 'p50 ms': percentile(lat, 50), 'p99 ms': percentile(lat, 99), 'max ms': lat.at(-1),
      'service CPU s': +cpu.toFixed(2), 'CPU µs per device': Math.round((cpu * 1e6) / Math.max(1, lat.length)),
      'event loop µs per device': Math.round((sum(loops) * 1e6) / Math.max(1, lat.length)),
      // The kernel's part (socket reads and writes, epoll, thread messages): what no change to the JS can take away.
      'of it system µs': Math.round((system * 1e6) / Math.max(1, lat.length)),
      'busiest event loop s': +busiest.toFixed(2),
    };
  } finally {
    if (svc.proc.exitCode === null) await svc.stop();
  }
}

if (COMPARE && !existsSync(join(COMPARE, 'service', 'main.ts'))) throw new Error(`DEVLIC_BENCH_COMPARE: no service/main.ts in ${COMPARE}`);
const rows = [];
try {
  for (let r = 1; r <= ROUNDS; r++) {
    // Alternate which goes first, so neither always meets the machine after the other's run.
    const order: [string, string, number][] = COMPARE ? [['before', COMPARE, 1], ...SERVE_WORKERS.map((w): [string, string, number] => ['this', ROOT, w])]
      : SERVE_WORKERS.map((w) => ['this', ROOT, w]);
    if (r % 2 === 0) order.reverse();
    for (const [label, root, workers] of order) {
      const row = await run(label, root, r, workers);
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }
} finally {
  await stopBenchCluster();
}
console.log(`\n${N} waiting devices on one replica (${BACKEND}${SERVE_WORKERS.length > 1 || SERVE_WORKERS[0] > 1 ? `, serve --workers ${SERVE_WORKERS.join(' / ')}` : ''}) woken by one assign; service CPU from the assign until the last answer`);
console.table(rows);
