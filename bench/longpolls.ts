// Long-polls: how many waiting agents one devlic-server process holds, its
// memory while holding them (next to its own idle memory, the baseline in the
// same run), and how long one assign takes to reach all of them.
// Each agent is a socket with a real device-signed request token; devices are
// seeded into the database with real Ed25519 keys.
// Run: node_modules/.bin/node bench/longpolls.ts   (DEVLIC_BENCH_POLLS=19000)
// This sandbox allows 20,000 open files per process, so the service can hold
// at most about 19,900 sockets here; the default stays just under that.
import { fork } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../service/store/db.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { DEVICE_AUTH_AUDIENCE } from '../shared/api.ts';
import { publicJwk, signDeviceRequestToken } from '../shared/token.ts';
import { startService, tempDir, waitFor } from '../test/helpers/processes.ts';
import { adminClient } from '../test/helpers/admin.ts';

const N = Number(process.env.DEVLIC_BENCH_POLLS ?? 19000);
const WORKERS = 2;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const dir = tempDir('longpolls');
const dataDir = join(dir, 'data');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const db = openDatabase(join(dataDir, 'devlic.db'));
seedCatalogue(db, new Date().toISOString());
const now = Math.floor(Date.now() / 1000);
const tokens: { token: string }[] = [];
const t0 = performance.now();
const insDev = db.prepare(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, '', '{}', ?, ?)`);
const insMem = db.prepare('INSERT INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)');
const insEnt = db.prepare(`INSERT INTO device_entitlements (device_id, seq, status, reason, changed_at) VALUES (?, 1, 'unlicensed', 'NOT_IN_LICENSED_GROUP', ?)`);
db.prepare('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)').run('grp_polls', 'Pollers', new Date().toISOString());
const rows: [string, string, string][] = [];
for (let i = 0; i < N; i++) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const id = `dev_poll_${i}`;
  rows.push([id, `poller-${i}`, JSON.stringify(await publicJwk(publicKey))]);
  tokens.push({ token: await signDeviceRequestToken(privateKey, id, DEVICE_AUTH_AUDIENCE, now, 900) });
}
db.transaction(() => {
  const at = new Date().toISOString();
  for (const [id, name, jwk] of rows) { insDev.run(id, name, createHash('sha256').update(id).digest('hex'), jwk, at); insMem.run('grp_polls', id, at); insEnt.run(id, at); }
})();
db.close();
const tokensFile = join(dir, 'tokens.json');
writeFileSync(tokensFile, JSON.stringify(tokens));
console.log(`seeded ${N} devices with keys and request tokens in ${Math.round(performance.now() - t0)} ms`);

const svc = await startService({ dataDir });
const admin = adminClient(svc.url, svc.adminToken);
const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'Poll EA' });
await new Promise((r) => setTimeout(r, 1000));
const idleRss = rssMiB(svc.proc.pid!);

const workers = Array.from({ length: WORKERS }, (_, w) => {
  const from = Math.floor((w * N) / WORKERS), to = Math.floor(((w + 1) * N) / WORKERS);
  return fork(join(import.meta.dirname, 'longpoll-client.ts'), [String(svc.port), tokensFile, String(from), String(to)], { stdio: 'inherit' });
});
const state = workers.map(() => ({ connected: 0, answered: 0, notModified: 0, errors: 0 }));
workers.forEach((w, i) => w.on('message', (m: any) => { if (!m.done) state[i] = m; }));
const waiting = async () => {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  return Number(/devlic_longpolls_waiting (\d+)/.exec(text)?.[1] ?? 0);
};
const tOpen = performance.now();
let held = 0;
try {
  await waitFor('all long-polls held', async () => (held = await waiting()) >= N, 120_000, 500);
} catch {
  console.log(`only ${held} of ${N} long-polls held (client errors: ${state.reduce((n, s) => n + s.errors, 0)})`);
}
const openMs = performance.now() - tOpen;
const heldRss = rssMiB(svc.proc.pid!);

// One assign reaches every waiting device: time until each long-poll is answered.
const assignedAt = Date.now();
await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Pollers' });
const assignMs = Date.now() - assignedAt;
await waitFor('all answered', () => state.reduce((n, s) => n + s.answered, 0) >= held, 120_000, 100).catch(() => {});
const reports = await Promise.all(workers.map((w) => new Promise<any>((res) => { w.on('message', (m: any) => m.done && res(m)); w.send('report'); })));
const lat = reports.flatMap((r) => r.answeredAt as number[]).map((t) => t - assignedAt).sort((a, b) => a - b);
for (const w of workers) w.send('exit');
await svc.stop();

console.table([{
  'long-polls held': held, 'target': N, 'time to open all (s)': +(openMs / 1000).toFixed(1),
  'service RSS idle (MiB)': idleRss, 'service RSS holding (MiB)': heldRss,
  'per long-poll (KiB)': held ? +(((heldRss - idleRss) * 1024) / held).toFixed(1) : NaN,
}]);
console.table([{
  'devices answered after one assign': lat.length, 'assign request (ms)': assignMs, 'p50 (ms)': pct(lat, 50), 'p99 (ms)': pct(lat, 99), 'max (ms)': lat[lat.length - 1],
}]);
