// Signing off the event loop: N devices wait on long-polls, one assign wakes
// them all, and every one needs a freshly signed token. Measured per mode in
// the same run: time from the assign until each device has its answer
// (p50/p99/max), and how /healthz answers meanwhile (sequential probes from
// this process, so the slowest probe is the longest stall of the event loop).
// Modes: "in-thread" (DEVLIC_SIGNING_THREADS=0, the baseline: what the
// service did before service/signing/) and "workers" (the default pool).
// The same light clients and seeding as bench/longpolls.ts.
// Run: node_modules/.bin/node bench/signing.ts   (DEVLIC_BENCH_POLLS=5000, DEVLIC_BENCH_MODES=in-thread,workers)
import { join } from 'node:path';
import { startService, tempDir, waitFor } from '../test/helpers/processes.ts';
import { adminClient } from '../test/helpers/admin.ts';
import { seedPollers } from './seed-pollers.ts';
import { heldLongPolls, percentile, startLightFleet } from './longpoll-fleet.ts';

const N = Number(process.env.DEVLIC_BENCH_POLLS ?? 5000);
const MODES = (process.env.DEVLIC_BENCH_MODES ?? 'in-thread,workers').split(',');
const CLIENTS = Math.max(2, Math.ceil(N / 9000));

const ms = (x: number) => +x.toFixed(1);

/** Probes /healthz one after another until stopped: [start, latency] of each. */
function probeHealth(url: string) {
  const probes: [number, number][] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await fetch(`${url}/healthz`);
      await r.arrayBuffer();
      probes.push([t0, performance.now() - t0]);
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  return { probes, stop: async () => { running = false; await done; } };
}

async function run(mode: string) {
  if (mode === 'in-thread') process.env.DEVLIC_SIGNING_THREADS = '0';
  else if (mode === 'workers') delete process.env.DEVLIC_SIGNING_THREADS;
  else throw new Error(`unknown mode '${mode}' (in-thread, workers)`);
  const dataDir = join(tempDir(`signing-${mode}`), 'data');
  const seeded = await seedPollers(dataDir, N);
  const svc = await startService({ dataDir, config: { maxConnections: 19_936, maxLongPolls: Math.min(19_935, Math.max(N, 19_000)) } });
  try {
    const admin = adminClient(svc.url, svc.adminToken);
    const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'Sign EA' });
    const fleet = startLightFleet({ port: svc.port, tokensFile: seeded.tokensFile, devices: N, workers: CLIENTS });
    let held = 0;
    await waitFor('all long-polls held', async () => (held = await heldLongPolls(svc.url)) >= N, 120_000, 250)
      .catch(() => console.log(`${mode}: only ${held} of ${N} long-polls held`));
    const health = probeHealth(svc.url);
    // A quiet second of probes first: the idle latency to compare with.
    await new Promise((r) => setTimeout(r, 1000));
    const assignedPerf = performance.now();
    const assignedAt = Date.now();
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: seeded.groupName });
    const assignMs = Date.now() - assignedAt;
    const assignedPerfEnd = performance.now();
    await waitFor('all answered', () => fleet.progress().answered >= held, 120_000, 20).catch(() => {});
    const burstEnd = performance.now();
    await health.stop();
    const { answers } = await fleet.answers();
    fleet.stop();
    const lat = answers.map(([at]) => at - assignedAt).sort((a, b) => a - b);
    const idle = health.probes.filter(([t]) => t < assignedPerf).map(([, l]) => l).sort((a, b) => a - b);
    // Probes sent while the assign request ran (its own SQL and the wake) and after it returned (the signing and the answers).
    const during = health.probes.filter(([t, l]) => t + l >= assignedPerf && t < assignedPerfEnd).map(([, l]) => l).sort((a, b) => a - b);
    const burst = health.probes.filter(([t]) => t >= assignedPerfEnd && t <= burstEnd).map(([, l]) => l).sort((a, b) => a - b);
    return {
      mode, devices: lat.length, 'wrong (must be 0)': answers.filter(([, licensed]) => licensed !== 1).length, 'assign request': assignMs,
      'answer p50': percentile(lat, 50), 'answer p99': percentile(lat, 99), 'answer max': lat.at(-1),
      'healthz idle p50': ms(percentile(idle, 50)), 'healthz max, assign running': ms(during.at(-1) ?? NaN),
      'healthz after: n': burst.length, 'p50': ms(percentile(burst, 50)), 'p99': ms(percentile(burst, 99)), 'max': ms(burst.at(-1) ?? NaN),
    };
  } finally {
    await svc.stop();
  }
}

const rows = [];
for (const mode of MODES) rows.push(await run(mode));
console.log(`${N} waiting devices woken by one assign, each answered with a freshly signed token (times in ms; /healthz probes
while the assign request ran, and after it returned until the last device had its answer)`);
console.table(rows);
