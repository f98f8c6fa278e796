// A reconnect storm through `serve --workers N` (issue 12, PostgreSQL): N
// seeded devices, all offline, come back at the same moment (as after a
// replica or HAProxy restart): every light client opens its connection, its
// conditional fetch (304 with the stored ETag) and its long-poll at once, with
// no ramp. With node:cluster's round-robin scheduling (Node's default on
// Linux) the primary accepts every connection and passes its handle to a
// worker over IPC; this measures whether that single primary becomes the
// storm's bottleneck, against one process (`--workers 1`) in the same run.
// Printed per run: time from the storm's start until the last device holds
// its long-poll (client side), each device's open-to-held p50/p99/max, the
// primary's CPU and the workers' CPU over that window (/proc/<pid>/stat), the
// primary's busiest 250 ms, and client errors (must be 0). The clients do not
// poll /metrics in the window: with workers that would make the primary work.
// The host's accept-queue overflows and SYN retransmits in the window are
// printed too: a full listen queue (Node's default backlog, 511) delays a
// device by TCP's SYN retry (1, 3, 7, 15 s...), not by CPU.
// Run: node_modules/.bin/node bench/reconnect-storm.ts
//   DEVLIC_BENCH_POLLS=5000, DEVLIC_BENCH_ROUNDS=2,
//   DEVLIC_BENCH_STORM_CONFIGS=1,2 (worker counts; `2:none` runs 2 workers with
//   NODE_CLUSTER_SCHED_POLICY=none: each worker accepts for itself, no handoff;
//   `base:1` runs the code of DEVLIC_BENCH_COMPARE=DIR, another checkout, for same-run pairs)
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, tempDir, waitFor } from '../test/helpers/processes.ts';
import { SEEDED_SEQ, seedPollers } from './seed-pollers.ts';
import { heldLongPolls, percentile, startLightFleet } from './longpoll-fleet.ts';
import { benchDatabase, stopBenchCluster } from './backend.ts';
import { cpuSeconds } from './cpu-accounting.ts';
import { serveCheckout } from './serve-checkout.ts';

const N = Number(process.env.DEVLIC_BENCH_POLLS ?? 5000);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 2);
/** Client processes: each holds its slice's sockets, well under its 20,000 fds. */
const CLIENTS = Math.max(2, Math.ceil(N / 9000));
const COMPARE = process.env.DEVLIC_BENCH_COMPARE ? resolve(process.env.DEVLIC_BENCH_COMPARE) : null;
const CONFIGS = (process.env.DEVLIC_BENCH_STORM_CONFIGS ?? '1,2').split(',').map((c) => {
  const base = c.trim().startsWith('base:');
  if (base && !COMPARE) throw new Error(`DEVLIC_BENCH_STORM_CONFIGS: ${c} needs DEVLIC_BENCH_COMPARE=DIR`);
  const [w, policy] = c.trim().replace(/^base:/, '').split(':');
  if (!(Number(w) >= 1) || (policy && policy !== 'none' && policy !== 'rr')) throw new Error(`DEVLIC_BENCH_STORM_CONFIGS: ${c}: a worker count, optionally :none or :rr`);
  return { workers: Number(w), policy: policy ?? null, root: base ? COMPARE! : ROOT };
});

/** The service's processes: the primary (or lone process) first, then the cluster's workers. */
function processesOf(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return [pid, ...(children ? children.split(' ').map(Number) : [])];
}

/** The host's TCP counters that show a full accept queue (Linux /proc/net/netstat; host-wide: other benches add to them too). */
function tcpCounters(): { overflows: number; synRetrans: number } {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0].split(' '), values = lines[1].split(' ').map(Number);
  const of = (n: string) => values[names.indexOf(n)] ?? NaN;
  return { overflows: of('ListenOverflows'), synRetrans: of('TCPSynRetrans') };
}

async function run(round: number, workers: number, policy: string | null, root: string) {
  const label = `${root === ROOT ? '' : 'base '}${workers > 1 ? `×${workers}${policy ? ` ${policy}` : ' rr'}` : '×1'}`;
  const dataDir = join(tempDir('storm'), 'data');
  const database = (await benchDatabase('postgres'))!;
  const seeded = await seedPollers(dataDir, N, 'Pollers', database);
  const svc = await serveCheckout(root, dataDir, { database, workers, ...(policy ? { env: { NODE_CLUSTER_SCHED_POLICY: policy } } : {}) });
  try {
    const pids = processesOf(svc.proc.pid!);
    if (pids.length !== (workers > 1 ? workers + 1 : 1)) throw new Error(`${label}: expected ${workers} workers, found processes ${pids.join(' ')}`);
    // Every client process opens all its devices at this moment (no ramp: DEVLIC_BENCH_STARTING above the count).
    const startAt = Date.now() + 2000;
    process.env.DEVLIC_BENCH_START_AT = String(startAt);
    process.env.DEVLIC_BENCH_STARTING = String(N + 1);
    const fleet = startLightFleet({ port: svc.port, tokensFile: seeded.tokensFile, devices: N, workers: CLIENTS, knownEtag: `"${SEEDED_SEQ}"` });
    await new Promise((r) => setTimeout(r, startAt - Date.now() - 20));
    const load = loadavg()[0];
    const cpu0 = pids.map(cpuSeconds);
    const tcp0 = tcpCounters();
    // The primary's busiest 250 ms: a mean over the window can hide a saturated burst.
    let last = cpu0[0], peak = 0;
    const sampler = setInterval(() => { const c = cpuSeconds(pids[0]); peak = Math.max(peak, (c - last) / 0.25); last = c; }, 250);
    await waitFor('every device holds its long-poll or failed', () => { const p = fleet.progress(); return p.waiting + p.errors >= N; }, 300_000, 5)
      .catch(() => console.log(`${label}: only ${fleet.progress().waiting} of ${N} held after 300 s`));
    clearInterval(sampler);
    const cpu1 = pids.map(cpuSeconds);
    const tcp1 = tcpCounters();
    const windowS = (Date.now() - startAt) / 1000;
    const { held, errorCodes } = await fleet.answers();
    // The service's own count, asked after the window (with workers, /metrics is gathered by the primary).
    let serverHeld = 0;
    await waitFor('the service holds them', async () => (serverHeld = await heldLongPolls(svc.url)) >= held.length, 10_000, 50).catch(() => {});
    fleet.stop();
    const lat = held.map(([o, h]) => h - o).sort((a, b) => a - b);
    const firstOpen = Math.min(...held.map(([o]) => o)), lastHeld = Math.max(...held.map(([, h]) => h));
    const cpu = cpu1.map((c, i) => c - cpu0[i]);
    const workersCpu = workers > 1 ? cpu.slice(1) : [];
    return {
      config: label, round, load: +load.toFixed(1), held: held.length, 'service holds': serverHeld,
      'errors (must be 0)': N - held.length, ...(Object.keys(errorCodes).length ? { why: JSON.stringify(errorCodes) } : {}),
      'storm ms (first open to last held)': lastHeld - firstOpen,
      'open→held p50 ms': percentile(lat, 50), 'p99 ms': percentile(lat, 99), 'max ms': lat.at(-1),
      'primary CPU s': +cpu[0].toFixed(2), 'primary % of window': Math.round((cpu[0] / windowS) * 100), 'primary peak 250 ms %': Math.round(peak * 100),
      'workers CPU s': workersCpu.map((c) => c.toFixed(2)).join(' + ') || '-',
      'primary µs per connection': Math.round((cpu[0] * 1e6) / Math.max(1, held.length)),
      // SYNs dropped because the accept queue was full (the client retries after 1, 3, 7, 15 s...).
      'accept queue overflows': tcp1.overflows - tcp0.overflows, 'SYN retransmits': tcp1.synRetrans - tcp0.synRetrans,
    };
  } finally {
    delete process.env.DEVLIC_BENCH_START_AT;
    await svc.stop();
  }
}

const rows = [];
try {
  for (let r = 1; r <= ROUNDS; r++) {
    // Alternate which goes first, so neither always meets the machine after the other's run.
    const order = r % 2 === 0 ? [...CONFIGS].reverse() : CONFIGS;
    for (const c of order) {
      const row = await run(r, c.workers, c.policy, c.root);
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }
} finally {
  await stopBenchCluster();
}
console.log(`\n${N} devices reconnecting at once (PostgreSQL, ${CLIENTS} client processes, conditional fetch then long-poll each); ×1 is one process (the baseline), ×2 rr the cluster's primary handing each connection to a worker`);
console.table(rows);
