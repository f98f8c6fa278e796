// Long-polls: how many waiting agents one devlic-server process holds, its
// memory while holding them (next to its own idle memory, the baseline in the
// same run), and how long one assign takes to reach all of them.
// Each agent is a socket with a real device-signed request token; devices are
// seeded into the database with real Ed25519 keys.
// Run: node_modules/.bin/node bench/longpolls.ts   (DEVLIC_BENCH_POLLS=19900)
// This sandbox allows 20,000 open files per process (hard limit, not
// raisable), so one service process can hold at most about 19,950 sockets here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService, tempDir, waitFor } from '../test/helpers/processes.ts';
import { adminClient } from '../test/helpers/admin.ts';
import { seedPollers } from './seed-pollers.ts';
import { heldLongPolls, percentile, startLightFleet } from './longpoll-fleet.ts';

const N = Number(process.env.DEVLIC_BENCH_POLLS ?? 19900);
const WORKERS = Math.max(2, Math.ceil(N / 9000));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const dataDir = join(tempDir('longpolls'), 'data');
const seeded = await seedPollers(dataDir, N);
console.log(`seeded ${N} devices with keys and request tokens in ${Math.round(seeded.ms)} ms`);

// Caps raised to what this sandbox's 20,000 open files allow (the defaults keep 5 % for admins and /healthz).
const svc = await startService({ dataDir, config: { maxConnections: 19_936, maxLongPolls: Math.min(19_935, Math.max(N, 19_000)) } });
const admin = adminClient(svc.url, svc.adminToken);
const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'Poll EA' });
await new Promise((r) => setTimeout(r, 1000));
const idleRss = rssMiB(svc.proc.pid!);

const fleet = startLightFleet({ port: svc.port, tokensFile: seeded.tokensFile, devices: N, workers: WORKERS });
const tOpen = performance.now();
let held = 0;
try {
  await waitFor('all long-polls held', async () => (held = await heldLongPolls(svc.url)) >= N, 180_000, 500);
} catch {
  console.log(`only ${held} of ${N} long-polls held (client errors: ${fleet.progress().errors})`);
}
const openMs = performance.now() - tOpen;
const heldRss = rssMiB(svc.proc.pid!);

// One assign reaches every waiting device: time until each long-poll is answered.
const assignedAt = Date.now();
await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: seeded.groupName });
const assignMs = Date.now() - assignedAt;
await waitFor('all answered', () => fleet.progress().answered >= held, 120_000, 100).catch(() => {});
const { answers, errorCodes } = await fleet.answers();
const lat = answers.map(([at]) => at - assignedAt).sort((a, b) => a - b);
const wrong = answers.filter(([, licensed]) => licensed !== 1).length;
fleet.stop();
await svc.stop();

console.table([{
  'long-polls held': held, 'target': N, 'time to open all (s)': +(openMs / 1000).toFixed(1),
  'service RSS idle (MiB)': idleRss, 'service RSS holding (MiB)': heldRss,
  'per long-poll (KiB)': held ? +(((heldRss - idleRss) * 1024) / held).toFixed(1) : NaN,
}]);
if (Object.keys(errorCodes).length) console.log('client failures by cause:', errorCodes);
console.table([{
  'devices answered after one assign': lat.length, 'not licensed (must be 0)': wrong, 'assign request (ms)': assignMs,
  'p50 (ms)': percentile(lat, 50), 'p99 (ms)': percentile(lat, 99), 'max (ms)': lat[lat.length - 1],
}]);
