// `npm start` (demo/start.ts): the service and one local agent on embedded
// defaults. Real processes throughout: --help and wrong usage start nothing;
// --listen/--data-dir (and the variables) move it; the banner's hints and
// README's walk-through, run as printed in a shell, license the local agent
// on a non-default port; LibreOffice is switched only when asked, and the
// layer npm start wrote is gone after Ctrl-C. Options: start-options.unit.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, freePort, tempDir, waitFor } from '../helpers/processes.ts';
import { writeFakeLibreOffice } from '../helpers/fake-libreoffice.ts';

const procs: Array<ReturnType<typeof spawn>> = [];
// Ctrl-C, not SIGKILL: a killed npm start would leave its service and agent running.
afterAll(async () => {
  await Promise.all(procs.filter((p) => p.exitCode === null && p.signalCode === null).map((p) => {
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGINT');
    return Promise.race([gone, new Promise((r) => setTimeout(r, 20_000))]).then(() => { if (p.exitCode === null) p.kill('SIGKILL'); });
  }));
}, 30_000);

/** The environment without anything that would point the programs elsewhere. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const k of ['DEVLIC_DATA', 'DEVLIC_LISTEN', 'DEVLIC_SERVER', 'DEVLIC_ADMIN_TOKEN']) if (!(k in extra)) delete env[k];
  return env;
}

function startDemo(args: string[], env: NodeJS.ProcessEnv = cleanEnv()) {
  const proc = spawn(NODE, [join(ROOT, 'demo/start.ts'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { proc, exited, out: () => out, running: () => waitFor(`start banner (${out})`, () => out.includes('devlic is running'), 60_000, 100) };
}

/** Runs shell lines as a user would paste them; `npx devlic-*` runs this checkout's entry points. */
function shell(lines: string, cwd: string): { status: number | null; stdout: string; stderr: string } {
  const script = `set -e
npx() { p=$1; shift; case $p in
  devlic-admin) "$NODE" "$ROOT/service/admin-cli/main.ts" "$@" ;;
  devlic-agent) "$NODE" "$ROOT/agent/main.ts" "$@" ;;
  *) echo "unexpected npx $p" >&2; return 1 ;;
esac; }
${lines}`;
  const r = spawnSync('sh', ['-c', script], { cwd, env: cleanEnv({ NODE, ROOT }), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const agentMode = (data: string) => {
  const f = join(data, 'agent', 'app-mode.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')).mode : undefined;
};

describe('npm start: usage', () => {
  it('--help prints the options and exits 0 without starting anything', () => {
    const cwd = tempDir('start-help');
    const data = join(cwd, 'devlic-data');
    const r = spawnSync(NODE, [join(ROOT, 'demo/start.ts'), '--help'], { cwd, env: cleanEnv({ DEVLIC_DATA: data }), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    for (const f of ['--listen HOST:PORT', '--data-dir DIR', '--app libreoffice', 'DEVLIC_LISTEN', 'DEVLIC_DATA']) expect(r.stdout).toContain(f);
    expect(existsSync(data)).toBe(false);
  });

  it.each([
    [['--bogus']], [['--listen']], [['--listen', ':99999']], [['--listen', 'localhost']], [['--app', 'word']],
    [['--libreoffice-root', '/opt/lo']], [['stray']],
  ])('wrong usage %j exits 2, says why, and creates nothing', (args) => {
    const cwd = tempDir('start-usage');
    const data = join(cwd, 'devlic-data');
    const r = spawnSync(NODE, [join(ROOT, 'demo/start.ts'), ...args], { cwd, env: cleanEnv({ DEVLIC_DATA: data }), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^npm start: .+\nTry 'npm start -- --help'\.\n$/);
    expect(existsSync(data)).toBe(false);
  });

  it('a bad DEVLIC_LISTEN is wrong usage too', () => {
    const r = spawnSync(NODE, [join(ROOT, 'demo/start.ts')], { env: cleanEnv({ DEVLIC_LISTEN: '127.0.0.1:0x50', DEVLIC_DATA: join(tempDir('start-env'), 'd') }), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('DEVLIC_LISTEN');
  });
});

describe('npm start: running', () => {
  it('--listen/--data-dir move it; the printed hints, run as printed, license the local agent on that port; no LibreOffice unless asked; SIGINT stops both', async () => {
    const port = await freePort();
    const data = join(tempDir('start'), 'devlic-data');
    const url = `http://127.0.0.1:${port}`;
    const d = startDemo(['--listen', `127.0.0.1:${port}`, '--data-dir', data]);
    await d.running();
    const banner = d.out();
    expect(banner).toContain(`export DEVLIC_SERVER=${url}`);
    expect(banner).toContain(`export DEVLIC_ADMIN_TOKEN=$(cat ${join(data, 'server', 'admin-token')})`);
    expect(banner).not.toContain('8470');
    // The system LibreOffice is not touched, even as root with it installed.
    expect(JSON.parse(readFileSync(join(data, 'agent.json'), 'utf8'))).toEqual({ apps: [{ name: 'file' }] });
    expect(banner).toMatch(/^Enforcers: file\b/m);
    await waitFor('local agent read-only', () => agentMode(data) === 'read-only', 30_000, 50);

    // Every hint line up to the status check, pasted into a shell in another folder.
    const hints = banner.split('\n').filter((l) => l.startsWith('  export ') || l.startsWith('  npx '));
    const split = hints.findIndex((l) => l.includes('devlic-agent status')) + 1;
    const exports = hints.filter((l) => l.startsWith('  export ')).join('\n');
    const r = shell(hints.slice(0, split).join('\n'), tempDir('start-elsewhere'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    await waitFor('local agent full', () => agentMode(data) === 'full', 15_000, 50);
    const rest = shell(`${exports}\n${hints.slice(split).join('\n')}`, tempDir('start-elsewhere'));
    expect(rest.stderr).toBe('');
    expect(rest.status).toBe(0);
    await waitFor('local agent read-only again', () => agentMode(data) === 'read-only', 15_000, 50);

    d.proc.kill('SIGINT');
    expect(await d.exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 120_000);

  it("README's walk-through, run as written next to ./devlic-data, switches the local agent; the no-token hint names the file npm start writes", async () => {
    const port = await freePort();
    const cwd = tempDir('start-readme');
    const data = join(cwd, 'devlic-data');
    // The variables still work (and are what README's default port becomes here).
    const d = startDemo([], cleanEnv({ DEVLIC_DATA: data, DEVLIC_LISTEN: `127.0.0.1:${port}` }));
    await d.running();

    // The no-token hint's npm start line, pasted next to ./devlic-data, finds the token.
    const noToken = shell('npx devlic-admin whoami || true', cwd);
    const line = noToken.stderr.split('\n').find((l) => l.includes('# npm start'));
    expect(line).toBeDefined();
    const got = shell(`${line!.replace(/#.*$/, '')}\nprintf %s "$DEVLIC_ADMIN_TOKEN"`, cwd);
    expect(got.stdout).toBe(readFileSync(join(data, 'server', 'admin-token'), 'utf8').trim());

    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Using devlic-admin'));
    const block = section.match(/```sh\n([\s\S]*?)```/)![1].replaceAll('127.0.0.1:8470', `127.0.0.1:${port}`);
    const cmds = block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    // Run it step by step, watching the local agent's mode where README says to.
    const modes: string[] = [];
    let script = '';
    for (const c of cmds) {
      script += `${c}\n`;
      if (!c.includes('devlic-agent status')) continue;
      const r = shell(script, cwd);
      expect(r.stderr, script).toBe('');
      expect(r.status).toBe(0);
      const want = /# mode: (\S+?)[,\s]/.exec(`${c} `)![1];
      await waitFor(`local agent ${want} after:\n${script}`, () => agentMode(data) === want, 15_000, 50);
      modes.push(want);
      script = cmds.slice(0, 2).join('\n') + '\n'; // keep the exports
    }
    expect(modes).toEqual(['read-only', 'full', 'read-only']);
    expect(shell(script, cwd).status).toBe(0);

    d.proc.kill('SIGINT');
    expect(await d.exited).toBe(0);
  }, 120_000);

  it.runIf(process.getuid?.() === 0)('--app libreoffice switches that install and removes its layer on Ctrl-C', async () => {
    const port = await freePort();
    const data = join(tempDir('start-lo'), 'devlic-data');
    // A LibreOffice install tree in a folder only root can change (the agent refuses others).
    const root = join(tempDir('start-lo-install'), 'libreoffice');
    const registry = join(root, 'share', 'registry');
    writeFakeLibreOffice(root);
    const layer = join(registry, 'devlic-viewer-mode.xcd');
    const d = startDemo(['--listen', `127.0.0.1:${port}`, '--data-dir', data, '--app', 'libreoffice', '--libreoffice-root', root]);
    await d.running();
    expect(d.out()).toMatch(/^Enforcers: file, libreoffice$/m);
    await waitFor('layer written (unlicensed: read-only)', () => existsSync(layer), 30_000, 50);
    d.proc.kill('SIGINT');
    expect(await d.exited).toBe(0);
    expect(existsSync(layer)).toBe(false);
    expect(d.out()).toContain(`removed ${layer}`);
    expect(existsSync(dirname(layer))).toBe(true);
  }, 120_000);
});
