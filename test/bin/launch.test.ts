// bin/launch.mjs, when it re-runs an entry point with the pinned Node: a
// stop signal to the launcher reaches the real program, the launcher waits
// for it and ends as it ended (exit code, or the same signal); no program is
// left running without its launcher. Real processes; every wait is for an
// event (a pid file, an exit, /healthz), none is a fixed sleep.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, NODE, ROOT, tempDir, waitFor } from '../helpers/processes.ts';
import { skipLoudly } from '../installer/helpers.ts';

const DRIVER = join(ROOT, 'test/fixtures/launch/driver.mjs');
const CHILD = join(ROOT, 'test/fixtures/launch/child.mjs');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids whose parent is `pid` (from /proc/PID/stat; the comm field may hold spaces and parentheses). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

// Programs a failing test would leave behind (the bug this tests for): killed after each test.
const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

function exitOf(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((r) => {
    if (p.exitCode !== null || p.signalCode !== null) r({ code: p.exitCode, signal: p.signalCode });
    else p.once('exit', (code, signal) => r({ code, signal }));
  });
}

/** The driver (a launcher) running the child fixture; resolves once the child is up, with both pids. */
async function launched(mode: string): Promise<{ launcher: ChildProcess; childPid: number; output: () => string }> {
  const pidFile = join(tempDir('launch'), 'child.pid');
  const launcher = spawn(NODE, [DRIVER, CHILD, pidFile, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  launcher.stdout!.on('data', (d) => { out += d; });
  launcher.stderr!.on('data', (d) => { out += d; });
  const childPid = await waitFor(`the child's pid file (output: ${out})`, () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), 20_000);
  started.push(childPid, launcher.pid!);
  // The program is the launcher's child (mode 'exit' may be gone already).
  if (mode !== 'exit') expect(childrenOf(launcher.pid!)).toContain(childPid);
  return { launcher, childPid, output: () => out };
}

describe('bin/launch.mjs re-running with the pinned Node', () => {
  it('passes SIGTERM, SIGINT and SIGHUP on and exits with the code the program chose', async () => {
    for (const [signal, code] of [['SIGTERM', 43], ['SIGINT', 42], ['SIGHUP', 41]] as const) {
      const { launcher, childPid, output } = await launched('handle');
      launcher.kill(signal);
      expect(await exitOf(launcher), `${signal}: ${output()}`).toEqual({ code, signal: null });
      expect(alive(childPid), signal).toBe(false);
    }
  });

  it('dies of the same signal when the program does', async () => {
    for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
      const { launcher, childPid } = await launched('default');
      launcher.kill(signal);
      expect(await exitOf(launcher)).toEqual({ code: null, signal });
      expect(alive(childPid)).toBe(false);
    }
    // A signal the launcher does not pass on (SIGKILL to the program itself) is still reported as such.
    const { launcher, childPid } = await launched('default');
    process.kill(childPid, 'SIGKILL');
    expect(await exitOf(launcher)).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('exits with the program\'s own exit code', async () => {
    const { launcher } = await launched('exit');
    expect(await exitOf(launcher)).toEqual({ code: 5, signal: null });
  });

  it('reports a Node it cannot start, exit 1', () => {
    const r = spawnSync(NODE, ['--input-type=module', '-e', `import { relaunch } from ${JSON.stringify(join(ROOT, 'bin/launch.mjs'))}; relaunch('/nonexistent/node', []);`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/devlic: cannot start \/nonexistent\/node: spawn \/nonexistent\/node ENOENT/);
  });
});

// The real launcher, as `npx devlic-server` runs it: a system Node older than
// 24 re-runs service/main.ts with the pinned one.
const SYSTEM_NODE = '/usr/bin/node';
const systemMajor = existsSync(SYSTEM_NODE) ? Number(spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim()) : NaN;
const missing = Number.isNaN(systemMajor) ? `no ${SYSTEM_NODE}` : systemMajor >= 24 ? `${SYSTEM_NODE} is Node ${systemMajor}, which runs the entry point itself (nothing to re-run)` : undefined;
const skip = skipLoudly('bin/devlic-server.mjs under the system Node', missing);

describe('bin/devlic-server.mjs under the system Node', () => {
  it.skipIf(skip)('SIGTERM to the launcher stops the real service cleanly: exit 0, no service left running', async () => {
    expect(missing).toBeUndefined();
    const port = await freePort();
    const dataDir = join(tempDir('launch-svc'), 'data');
    const launcher = spawn(SYSTEM_NODE, [join(ROOT, 'bin/devlic-server.mjs'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    launcher.stdout!.on('data', (d) => { out += d; });
    launcher.stderr!.on('data', (d) => { out += d; });
    await waitFor(`the service on port ${port} (output: ${out})`, async () => {
      if (launcher.exitCode !== null) throw new Error(`launcher exited ${launcher.exitCode}: ${out}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    }, 30_000, 50);
    const [service] = childrenOf(launcher.pid!);
    expect(service).toBeGreaterThan(0);
    started.push(service, launcher.pid!);
    expect(readFileSync(`/proc/${service}/cmdline`, 'utf8')).toContain('service/main.ts');
    launcher.kill('SIGTERM');
    expect(await exitOf(launcher)).toEqual({ code: 0, signal: null });
    expect(alive(service)).toBe(false);
    // It stopped cleanly (its own SIGTERM handler), not killed.
    expect(out).toMatch(/"signal":"SIGTERM","msg":"stopping"/);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 90_000);
});

// `npx devlic-server`: npm runs the launcher below `sh -c` and passes SIGTERM
// to the shell only; the launcher, orphaned, must stop too. --offline: npx
// links this checkout (a file: package) and needs nothing from a registry.
const npx = spawnSync('npx', ['--version'], { encoding: 'utf8' });
const npxMissing = npx.status === 0 ? undefined : 'npx not found (apt-get install npm)';
const skipNpx = skipLoudly('npx devlic-server', npxMissing);

describe('npx devlic-server', () => {
  it.skipIf(skipNpx)('SIGTERM to npx stops the service it started: nothing left running', async () => {
    const port = await freePort();
    const dataDir = join(tempDir('launch-npx'), 'data');
    const env = { ...process.env };
    delete env.npm_command;
    const proc = spawn('npx', ['--offline', 'devlic-server', 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    await waitFor(`the service on port ${port} (output: ${out})`, async () => {
      if (proc.exitCode !== null) throw new Error(`npx exited ${proc.exitCode}: ${out}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    }, 60_000, 100);
    const tree = (pid: number): number[] => childrenOf(pid).flatMap((c) => [c, ...tree(c)]);
    const below = tree(proc.pid!);
    const service = below.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('service/main.ts')
      || readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('devlic-server'));
    expect(service, `processes below npx: ${below.join(' ')}`).toBeDefined();
    started.push(...below);
    proc.kill('SIGTERM');
    await exitOf(proc);
    await waitFor('every process npx started to end', () => below.every((pid) => !alive(pid)), 30_000, 50);
    // The service stopped itself (its SIGTERM handler), it was not killed.
    await waitFor(`the service's stop line (output: ${out})`, () => /"signal":"SIGTERM","msg":"stopping"/.test(out), 10_000);
  }, 150_000);
});
