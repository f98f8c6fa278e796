// Long-polls across replicas: N waiting devices spread evenly over R
// devlic-server replicas on one PostgreSQL database (light clients in several
// processes, each under this sandbox's 20,000 open files, each device
// connected straight to its replica: one proxy process here would itself hit
// that limit). One assign made on the first replica must reach every device
// on every replica (its commit NOTIFYs the others, each wakes and signs for
// its own waiters): the time from the assign until each device has its new
// answer, p50/p99, per replica and overall. The baseline in the same run is
// the same kind of fleet on one replica (at most 19,900 devices: what one
// process holds here).
// Run: node_modules/.bin/node bench/longpoll-replicas.ts
//   DEVLIC_BENCH_POLLS=15000 (devices across the replicas), DEVLIC_BENCH_REPLICAS=3,
//   DEVLIC_BENCH_BASELINE=1 (0: skip the single replica run)
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startService, tempDir, waitFor, type ServiceProcess } from '../test/helpers/processes.ts';
import { adminClient } from '../test/helpers/admin.ts';
import { SEEDED_SEQ, seedPollers } from './seed-pollers.ts';
import { heldLongPolls, percentile, startLightFleet, type LightFleet } from './longpoll-fleet.ts';
import { benchDatabase, stopBenchCluster } from './backend.ts';

const N = Number(process.env.DEVLIC_BENCH_POLLS ?? 15000);
const REPLICAS = Number(process.env.DEVLIC_BENCH_REPLICAS ?? 3);
const BASELINE = process.env.DEVLIC_BENCH_BASELINE !== '0';
/** What one service process holds here (20,000 open files per process, a few for itself). */
const PER_PROCESS = 19_900;
const PER_WORKER = 9_000;

interface Outcome {
  scenario: string; devices: number; held: number; openS: number; assignMs: number;
  perReplica: { replica: number; answered: number; p50: number; p99: number }[]; all: number[]; wrong: number; errors: Record<string, number>;
}

async function run(scenario: string, n: number, replicas: number): Promise<Outcome> {
  const root = tempDir('lp-replicas');
  const dirs = Array.from({ length: replicas }, (_, r) => join(root, `replica-${r}`));
  for (const d of dirs) mkdirSync(d, { recursive: true, mode: 0o700 });
  const database = await benchDatabase('postgres');
  const seeded = await seedPollers(dirs[0], n, 'Pollers', database);
  console.log(`${scenario}: seeded ${n} devices with keys and request tokens in ${Math.round(seeded.ms)} ms`);
  const share = Math.ceil(n / replicas);
  if (share > PER_PROCESS) throw new Error(`${n} devices over ${replicas} replicas is ${share} each: more than one process holds here (${PER_PROCESS})`);
  const config = { maxConnections: 19_936, maxLongPolls: Math.min(19_935, Math.max(share + 100, 1000)) };
  const svcs: ServiceProcess[] = [];
  const fleets: LightFleet[] = [];
  try {
    // The first replica makes the keyring and the site key it is sealed with; the others get a copy (0600), as an operator would copy it.
    // A busy machine starts a replica slowly; one that fails is killed by startService, the ones up are stopped below.
    const start = (dataDir: string) => startService({ dataDir, database, config, startTimeoutMs: 120_000 });
    svcs.push(await start(dirs[0]));
    for (const d of dirs.slice(1)) {
      for (const f of ['site-key', 'admin-token']) {
        copyFileSync(join(dirs[0], f), join(d, f));
        chmodSync(join(d, f), 0o600);
      }
    }
    const rest = await Promise.allSettled(dirs.slice(1).map(start));
    for (const r of rest) if (r.status === 'fulfilled') svcs.push(r.value);
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const admin = adminClient(svcs[0].url, svcs[0].adminToken);
    const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: n, name: 'Poll EA' });
    const counts: number[] = [];
    const tOpen = performance.now();
    for (let r = 0; r < replicas; r++) {
      const from = r * share, count = Math.max(0, Math.min(n, from + share) - from);
      counts.push(count);
      // Devices come online knowing their seq (as agents restarting with their stored token): opening 50,000 is
      // then device authentication only, not 50,000 first tokens signed and stored before the measured assign.
      fleets.push(startLightFleet({
        port: svcs[r].port, tokensFile: seeded.tokensFile, devices: count, offset: from,
        workers: Math.max(1, Math.ceil(count / PER_WORKER)), knownEtag: `"${SEEDED_SEQ}"`,
      }));
    }
    let held = 0;
    let shown = performance.now();
    try {
      await waitFor('all long-polls held', async () => {
        held = (await Promise.all(svcs.map((s) => heldLongPolls(s.url)))).reduce((a, b) => a + b, 0);
        if (performance.now() - shown > 15_000) {
          shown = performance.now();
          console.log(`${scenario}: ${held} of ${n} long-polls held after ${((shown - tOpen) / 1000).toFixed(0)} s`);
        }
        return held >= n;
      // The seeded request tokens are valid 15 minutes from the end of seeding: a fleet that cannot open in 12 is reported as it stands.
      }, Math.max(150_000, Math.min(720_000, n * 15)), 500);
    } catch {
      console.log(`${scenario}: only ${held} of ${n} long-polls held (client errors: ${fleets.reduce((e, f) => e + f.progress().errors, 0)})`);
    }
    const openS = (performance.now() - tOpen) / 1000;
    const before = fleets.map((f) => f.progress().answered);

    const assignedAt = Date.now();
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: seeded.groupName });
    const assignMs = Date.now() - assignedAt;
    await waitFor('all answered', () => fleets.every((f, r) => f.progress().answered - before[r] >= counts[r] - f.progress().errors), Math.max(120_000, n * 4), 100).catch(() => {});
    const perReplica: Outcome['perReplica'] = [];
    const all: number[] = [];
    let wrong = 0;
    const errors: Record<string, number> = {};
    for (const [r, f] of fleets.entries()) {
      const { answers, errorCodes } = await f.answers();
      const lat = answers.filter(([at]) => at >= assignedAt).map(([at]) => at - assignedAt).sort((a, b) => a - b);
      wrong += answers.filter(([at, licensed]) => at >= assignedAt && licensed !== 1).length;
      for (const [k, v] of Object.entries(errorCodes)) errors[k] = (errors[k] ?? 0) + v;
      perReplica.push({ replica: r, answered: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99) });
      all.push(...lat);
    }
    all.sort((a, b) => a - b);
    return { scenario, devices: n, held, openS, assignMs, perReplica, all, wrong, errors };
  } finally {
    for (const f of fleets) f.stop();
    await Promise.all(svcs.map((s) => s.stop()));
  }
}

const outcomes: Outcome[] = [];
try {
  outcomes.push(await run(`${REPLICAS} replicas`, N, REPLICAS));
  if (BASELINE) outcomes.push(await run('1 replica (baseline)', Math.min(N, PER_PROCESS), 1));
} finally {
  await stopBenchCluster();
}
for (const o of outcomes) {
  console.log(`\n${o.scenario}: ${o.held} of ${o.devices} long-polls held after ${o.openS.toFixed(1)} s; assign request ${o.assignMs} ms (made on replica 0)`);
  if (Object.keys(o.errors).length) console.log('  client failures by cause:', o.errors);
  for (const r of o.perReplica) console.log(`  replica ${r.replica}: ${r.answered} answers, p50 ${r.p50} ms, p99 ${r.p99} ms`);
}
console.table(outcomes.map((o) => ({
  scenario: o.scenario, devices: o.devices, 'answered after the assign': o.all.length, 'not licensed (must be 0)': o.wrong, 'assign request (ms)': o.assignMs,
  'p50 (ms)': percentile(o.all, 50), 'p99 (ms)': percentile(o.all, 99), 'max (ms)': o.all.at(-1),
})));
if (outcomes.some((o) => o.wrong > 0 || o.all.length < o.held)) process.exitCode = 1;
