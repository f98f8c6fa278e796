// `npm start`: the main job on embedded defaults, for a first look. Starts
// the licensing service on an SQLite file in ./devlic-data and one local
// agent enrolled to it (file enforcer; the system LibreOffice only with
// --app libreoffice), then prints what to try next. Ctrl-C stops both and
// removes the LibreOffice layer if this run wrote it. Options: start-options.ts.
// It starts processes and talks HTTP; from agent/ it only borrows the
// LibreOffice locator, so that it restores the same install the agent changed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCli, UsageError } from '../shared/cli.ts';
import { defaultInstallRoots, findInstall, LAYER_FILE } from '../agent/enforce/libreoffice.ts';
import { GROUP, HELP, PROGRAM, parseStart, startBanner } from './start-options.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ts = (f: string) => join(ROOT, f);
const children: ChildProcess[] = [];
/** The LibreOffice layer this run may write, when it was absent before: removed on exit. */
let layerToRemove: string | undefined;
let stopping = false;

/** Removes the layer only if it is still a plain file (never follows a link). */
function restoreLibreOffice(): void {
  if (!layerToRemove) return;
  try {
    if (lstatSync(layerToRemove).isFile()) {
      unlinkSync(layerToRemove);
      process.stderr.write(`removed ${layerToRemove}: LibreOffice is back as it was\n`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') process.stderr.write(`could not remove ${layerToRemove}: ${(e as Error).message}; delete it by hand\n`);
  }
}

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Agent first (it must not rewrite the layer after we remove it), then the service.
    for (const p of [...children].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
    restoreLibreOffice();
    process.exit(code);
  }
  return new Promise<never>(() => {});
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseStart(process.argv.slice(2), process.env, join(ROOT, 'devlic-data'));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // npm passes flags on only after `--`, so the hint says so.
    process.stderr.write(`${PROGRAM}: ${e.message}\nTry '${PROGRAM} -- --help'.\n`);
    return 2;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const o = parsed.options;
  const DATA = o.dataDir, URL_ = o.url;
  const serverDir = join(DATA, 'server'), agentDir = join(DATA, 'agent'), agentConfig = join(DATA, 'agent.json');

  // LibreOffice is the host's, shared by every user: only when asked, as root.
  const apps: object[] = [{ name: 'file' }];
  let note: string | undefined;
  if (o.apps.includes('libreoffice')) {
    const install = await findInstall(o.libreofficeRoot ? [o.libreofficeRoot] : await defaultInstallRoots(process.platform));
    if (!install) {
      process.stderr.write(`${PROGRAM}: no LibreOffice found ${o.libreofficeRoot ? `under ${o.libreofficeRoot}` : 'in its usual places'}; --libreoffice-root DIR names another install\n`);
      return 1;
    }
    if (process.getuid?.() !== 0) {
      process.stderr.write(`${PROGRAM}: --app libreoffice writes into ${install.registryDir} and needs root (sudo npm start -- --app libreoffice)\n`);
      return 1;
    }
    const layer = join(install.registryDir, LAYER_FILE);
    if (!existsSync(layer)) layerToRemove = layer;
    apps.push({ name: 'libreoffice', installRoot: install.root });
  } else if (await findInstall(await defaultInstallRoots(process.platform)).catch(() => undefined)) {
    note = "LibreOffice is installed: 'npm start -- --app libreoffice' as root switches it too";
  }

  mkdirSync(DATA, { recursive: true, mode: 0o700 });
  // Rewritten at every start, so the apps are always the ones asked for now.
  writeFileSync(agentConfig, JSON.stringify({ apps }, null, 2), { mode: 0o600 });

  function startChild(name: string, args: string[]): ChildProcess {
    const log = createWriteStream(join(DATA, `${name}.log`), { flags: 'a' });
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.pipe(log);
    p.stderr!.pipe(log);
    p.on('exit', (code, signal) => { if (!stopping) { process.stderr.write(`${name} stopped (${signal ?? code}); see ${join(DATA, `${name}.log`)}\n`); void stop(1); } });
    children.push(p);
    return p;
  }
  async function api(method: string, path: string, token: string, body?: unknown): Promise<any> {
    const r = await fetch(`${URL_}/v1/admin${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const out = await r.json() as any;
    if (!r.ok) throw new Error(`${method} ${path}: ${out?.error?.message ?? r.status}`);
    return out;
  }

  process.on('SIGINT', () => { void stop(0); });
  process.on('SIGTERM', () => { void stop(0); });
  startChild('server', [ts('service/main.ts'), 'serve', '--data-dir', serverDir, '--listen', o.listen]);
  for (let i = 0; ; i++) {
    if (await fetch(`${URL_}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 200) { process.stderr.write(`devlic-server did not start; see ${join(DATA, 'server.log')}\n`); await stop(1); }
    await new Promise((r) => setTimeout(r, 50));
  }
  const adminToken = join(serverDir, 'admin-token');
  const token = readFileSync(adminToken, 'utf8').trim();

  if (!existsSync(join(agentDir, 'identity.json'))) {
    const groups = await api('GET', `/groups?q=${encodeURIComponent(GROUP)}`, token);
    if (!groups.items.some((g: any) => g.name === GROUP)) await api('POST', '/groups', token, { name: GROUP });
    const enroll = await api('POST', '/enroll-tokens', token, { uses: 1, group: GROUP, expiresInSeconds: 600 });
    const r = spawnSync(process.execPath, [ts('agent/main.ts'), 'enroll', '--server', URL_, '--token', enroll.token, '--data-dir', agentDir, '--config', agentConfig], { encoding: 'utf8' });
    if (r.status !== 0) { process.stderr.write(`enrolling the local agent failed: ${r.stderr}\n`); await stop(1); }
  }
  startChild('agent', [ts('agent/main.ts'), 'run', '--data-dir', agentDir, '--config', agentConfig]);

  process.stdout.write(startBanner({ url: URL_, dataDir: DATA, adminToken, agentDir, enforcers: apps.map((a: any) => a.name), note }));
  // Runs until Ctrl-C: stop() exits the process.
  return new Promise<number>(() => {});
}

await runCli(PROGRAM, main);
