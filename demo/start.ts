// `npm start`: the main job on embedded defaults, for a first look. Starts
// the licensing service on an SQLite file in ./devlic-data and one local
// agent enrolled to it (file enforcer, plus LibreOffice when it is installed
// and this runs as root), then prints what to try next. Ctrl-C stops both.
// It only starts processes and talks HTTP: it imports neither agent/ nor service/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(process.env.DEVLIC_DATA ?? join(ROOT, 'devlic-data'));
const LISTEN = process.env.DEVLIC_LISTEN ?? '127.0.0.1:8470';
const URL_ = `http://${LISTEN}`;
const GROUP = 'This computer';
const serverDir = join(DATA, 'server'), agentDir = join(DATA, 'agent'), agentConfig = join(DATA, 'agent.json');
const ts = (f: string) => join(ROOT, f);

mkdirSync(DATA, { recursive: true, mode: 0o700 });
const children: ChildProcess[] = [];

function startChild(name: string, args: string[]): ChildProcess {
  const log = createWriteStream(join(DATA, `${name}.log`), { flags: 'a' });
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.pipe(log);
  p.stderr!.pipe(log);
  p.on('exit', (code, signal) => { if (!stopping) { process.stderr.write(`${name} stopped (${signal ?? code}); see ${join(DATA, `${name}.log`)}\n`); stop(1); } });
  children.push(p);
  return p;
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Agent first, then the service it talks to.
  for (const p of [...children].reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }
  process.exit(code);
}
process.on('SIGINT', () => { void stop(0); });
process.on('SIGTERM', () => { void stop(0); });

async function api(method: string, path: string, token: string, body?: unknown): Promise<any> {
  const r = await fetch(`${URL_}/v1/admin${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const out = await r.json() as any;
  if (!r.ok) throw new Error(`${method} ${path}: ${out?.error?.message ?? r.status}`);
  return out;
}

startChild('server', [ts('service/main.ts'), 'serve', '--data-dir', serverDir, '--listen', LISTEN]);
for (let i = 0; ; i++) {
  if (await fetch(`${URL_}/healthz`).then((r) => r.ok, () => false)) break;
  if (i > 200) { process.stderr.write(`devlic-server did not start; see ${join(DATA, 'server.log')}\n`); await stop(1); }
  await new Promise((r) => setTimeout(r, 50));
}
const token = readFileSync(join(serverDir, 'admin-token'), 'utf8').trim();

const soffice = ['/usr/lib/libreoffice/program/soffice', '/opt/libreoffice/program/soffice'].find(existsSync);
const apps: object[] = [{ name: 'file' }];
if (soffice && process.getuid?.() === 0) apps.push({ name: 'libreoffice' });
if (!existsSync(agentConfig)) writeFileSync(agentConfig, JSON.stringify({ apps }, null, 2), { mode: 0o600 });

if (!existsSync(join(agentDir, 'identity.json'))) {
  const groups = await api('GET', `/groups?q=${encodeURIComponent(GROUP)}`, token);
  if (!groups.items.some((g: any) => g.name === GROUP)) await api('POST', '/groups', token, { name: GROUP });
  const enroll = await api('POST', '/enroll-tokens', token, { uses: 1, group: GROUP, expiresInSeconds: 600 });
  const r = spawnSync(process.execPath, [ts('agent/main.ts'), 'enroll', '--server', URL_, '--token', enroll.token, '--data-dir', agentDir, '--config', agentConfig], { encoding: 'utf8' });
  if (r.status !== 0) { process.stderr.write(`enrolling the local agent failed: ${r.stderr}\n`); await stop(1); }
}
startChild('agent', [ts('agent/main.ts'), 'run', '--data-dir', agentDir, '--config', agentConfig]);

process.stdout.write(`
devlic is running: licensing service ${URL_} (console: open it in a browser), one local agent.
Data and logs: ${DATA}   Admin token: ${join(serverDir, 'admin-token')}
Enforcers: ${apps.map((a: any) => a.name).join(', ')}${soffice && apps.length === 1 ? ' (LibreOffice found; run as root to switch it)' : ''}

Try, in another terminal:
  export DEVLIC_ADMIN_TOKEN=$(cat ${join(serverDir, 'admin-token')})
  npx devlic-admin subscriptions add --product M365_APPS_ENTERPRISE_DEVICE --seats 20 --name "EA 2026"
  npx devlic-admin licenses assign --subscription "EA 2026" --group "${GROUP}"
  npx devlic-agent status --data-dir ${agentDir}          # mode full within a second
  npx devlic-admin licenses unassign --subscription "EA 2026" --group "${GROUP}" --yes
  npx devlic-agent logs --data-dir ${agentDir}
  npx devlic-admin devices list

Ctrl-C stops both.
`);
