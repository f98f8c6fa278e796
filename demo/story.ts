// `npm run demo`: the seed's story, unattended, with real processes. 20 shared
// devices (each a real devlic-agent with its own data folder and identity)
// enroll into "Shared laptops"; a subscription of Microsoft 365 Apps for
// enterprise (device) is assigned -> all full; unassigned -> all read-only;
// assigned again, then the service is stopped -> all stay full on their
// cached entitlement. Prints a timeline; exits 0 only if every step held.
// DEVLIC_DEMO_DEVICES sets the fleet size (default 20).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const N = Number(process.env.DEVLIC_DEMO_DEVICES ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'devlic-demo-'));
const t0 = Date.now();
let failed = false;
const say = (ok: boolean | null, text: string) => {
  if (ok === false) failed = true;
  process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${ok === null ? '  ' : ok ? 'ok' : 'NO'}  ${text}\n`);
};
const procs: ChildProcess[] = [];
function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const p = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, DEVLIC_LOG_LEVEL: 'warn', ...env } });
  procs.push(p);
  return p;
}
const done = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', (c) => r(c))));
async function until(fn: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await new Promise((r) => setTimeout(r, 50)); }
  return false;
}
const port = await new Promise<number>((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => r(p)); }); });
const url = `http://127.0.0.1:${port}`;

try {
  const server = run([join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(dir, 'server'), '--listen', `127.0.0.1:${port}`]);
  const up = await until(() => fetch(`${url}/healthz`).then((r) => r.ok, () => false), 20_000);
  say(up, `licensing service started on ${url}`);
  if (!up) throw new Error('service did not start');
  const token = readFileSync(join(dir, 'server', 'admin-token'), 'utf8').trim();
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}/v1/admin${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const out = await r.json() as any;
    if (!r.ok) throw new Error(`${method} ${path}: ${out?.error?.message}`);
    return out;
  };
  const sub = await api('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: N, name: 'EA 2026' });
  await api('POST', '/groups', { name: 'Shared laptops' });
  const enrollToken = (await api('POST', '/enroll-tokens', { uses: N, group: 'Shared laptops' })).token;
  say(null, `subscription "${sub.name}" (${sub.productName}, ${N} seats), group "Shared laptops"`);

  const agents = Array.from({ length: N }, (_, i) => {
    const home = join(dir, `device-${i + 1}`);
    const identity = join(dir, `identity-${i + 1}.json`), config = join(dir, `agent-${i + 1}.json`);
    writeFileSync(identity, JSON.stringify({ machineId: randomBytes(16).toString('hex'), hardwareUuid: '', hostname: `laptop-${String(i + 1).padStart(2, '0')}`, manufacturer: 'Demo', model: 'Laptop 13', serial: `SN${i + 1}`, os: 'Debian GNU/Linux 12' }), { mode: 0o600 });
    writeFileSync(config, JSON.stringify({ utmpPath: join(dir, 'no-utmp') }), { mode: 0o600 });
    const common = ['--data-dir', home, '--config', config];
    return { home, common, env: { DEVLIC_FAKE_IDENTITY_FILE: identity } };
  });
  for (let i = 0; i < N; i += 5) {
    const batch = agents.slice(i, i + 5).map((a) => done(run([join(ROOT, 'agent/main.ts'), 'enroll', '--server', url, '--token', enrollToken, ...a.common], a.env)));
    if ((await Promise.all(batch)).some((c) => c !== 0)) throw new Error('an agent failed to enroll');
  }
  say((await api('GET', '/devices?limit=1000')).total === N, `${N} devices enrolled into "Shared laptops"`);
  for (const a of agents) run([join(ROOT, 'agent/main.ts'), 'run', ...a.common], a.env);
  const modes = () => agents.map((a) => { try { return JSON.parse(readFileSync(join(a.home, 'app-mode.json'), 'utf8')).mode; } catch { return null; } });
  const all = (m: string) => modes().every((x) => x === m);
  // A running daemon answers on its control socket; only then is it long-polling.
  const running = await until(() => agents.every((a) => existsSync(join(a.home, 'agent.sock'))), 60_000);
  say(running && await until(() => all('read-only'), 10_000), `${N} agents running, all read-only (no licence yet)`);
  await new Promise((r) => setTimeout(r, 1000));

  let t = Date.now();
  await api('POST', '/licenses/assign', { subscription: sub.id, group: 'Shared laptops' });
  say(await until(() => all('full'), 10_000), `assigned "EA 2026" to "Shared laptops": all ${N} devices full in ${Date.now() - t} ms`);
  t = Date.now();
  await api('POST', '/licenses/unassign', { subscription: sub.id, group: 'Shared laptops', confirm: true });
  say(await until(() => all('read-only'), 10_000), `unassigned: all ${N} devices read-only in ${Date.now() - t} ms`);
  t = Date.now();
  await api('POST', '/licenses/assign', { subscription: sub.id, group: 'Shared laptops' });
  say(await until(() => all('full'), 10_000), `assigned again: all ${N} devices full in ${Date.now() - t} ms`);
  const fleet = await api('GET', '/devices?licensed=true&limit=1000');
  say(await until(async () => (await api('GET', '/devices?limit=1000')).items.every((d: any) => d.lastMode === 'full'), 10_000),
    `fleet view: ${fleet.total} licensed, every device reported full`);
  server.kill('SIGTERM');
  await done(server);
  say(true, 'licensing service stopped');
  await new Promise((r) => setTimeout(r, 5000));
  say(all('full'), `5 s later, service still down: ${modes().filter((m) => m === 'full').length}/${N} devices still full on their cached entitlement`);
  say(agents.every((a) => existsSync(join(a.home, 'agent.db'))), 'every device keeps its signed entitlement in its own SQLite cache');
} catch (e) {
  say(false, (e as Error).message);
} finally {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  await Promise.all(procs.map(done));
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(failed ? '\nThe demo FAILED: a step above did not hold.\n' : '\nEvery step held.\n');
process.exit(failed ? 1 : 0);
