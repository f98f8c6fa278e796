// The real agent, doing its job inside the process-level part of the systemd
// unit's sandbox: no capabilities (CapabilityBoundingSet=), no_new_privs,
// UMask=0077, and the unit's own SystemCallFilter= lines applied with
// libseccomp (EPERM for everything else, as SystemCallErrorNumber=EPERM).
// The licensing service likewise under its unit's filter (run as root without
// capabilities here, not as the devlic-server user), also with `--workers 2`
// on a throwaway PostgreSQL (skipped without it).
// systemd is not PID 1 here (no `systemd-run`), so the mount side of the
// sandbox (ProtectSystem=strict + ReadWritePaths, PrivateTmp, ProtectProc,
// PrivateDevices) and IPAddressDeny are NOT applied in this test; the units
// themselves are checked by systemd.test.ts (verify and security).
// Needs root, setpriv (util-linux), systemd-analyze and python3-seccomp;
// skips loudly without them, fails with DEVLIC_REQUIRE_REAL_APPS=1.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../installer/layout.ts';
import { agentUnit, serverUnit } from '../../installer/platforms/systemd.ts';
import { LAYER_FILE } from '../../agent/enforce/libreoffice.ts';
import { freePort, NODE, ROOT, tempDir, waitFor } from '../helpers/processes.ts';
import { allowedCalls, parseSyscallGroups } from '../helpers/syscall-filter.ts';
import { startLab, TestAgent, type Lab } from '../agent/helpers/agent.ts';
import { skipLoudly } from './helpers.ts';
import { PG_MISSING, startPostgres } from '../helpers/postgres.ts';
import { pinned } from '../service-replicas/workers.ts';
import { writeFakeLibreOffice } from '../helpers/fake-libreoffice.ts';

const PYTHON = '/usr/bin/python3';
const SETPRIV = '/usr/bin/setpriv';
const SECCOMP_EXEC = join(ROOT, 'test/fixtures/sandbox/seccomp-exec.py');

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (the agent sandbox drops root\'s capabilities)';
  if (!existsSync(SETPRIV)) return 'no setpriv (apt-get install util-linux)';
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) return 'no systemd-analyze (apt-get install systemd)';
  if (spawnSync(PYTHON, ['-c', 'import seccomp']).status !== 0) return 'no libseccomp Python binding (apt-get install python3-seccomp)';
  return undefined;
}
const missing = why();
const skip = skipLoudly('the agent inside the unit\'s process sandbox', missing);

/** The wrapper that applies a unit's process restrictions (default: the agent's), then runs the rest of the command line. */
function sandbox(unit = agentUnit({ layout: agentLayout('linux') })): string[] {
  const groups = parseSyscallGroups(spawnSync('systemd-analyze', ['syscall-filter', '--no-pager'], { encoding: 'utf8' }).stdout);
  const allowed = allowedCalls(unit, groups);
  const file = join(tempDir('seccomp'), 'allowed');
  writeFileSync(file, [...allowed].join('\n'));
  return [SETPRIV, '--bounding-set=-all', '--inh-caps=-all', '--', '/bin/sh', '-c', 'umask 077; exec "$@"', 'sh', PYTHON, SECCOMP_EXEC, file];
}

function procStatus(pid: number): Record<string, string> {
  return Object.fromEntries(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  }));
}

/** A LibreOffice install as far as the enforcer reads it: a 26.8 main.xcd that declares ViewerAppMode. */
function fakeLibreOffice(): string {
  const root = join(tempDir('sandbox-lo'), 'libreoffice');
  writeFakeLibreOffice(root);
  return root;
}

describe.skipIf(skip)('the agent inside the unit\'s process sandbox (capabilities, system calls, umask)', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLab(); });
  afterAll(async () => { await lab?.svc.stop(); });

  it('switches the file, LibreOffice and hook enforcers both ways, and stops cleanly', async () => {
    expect(missing).toBeUndefined();
    const lo = fakeLibreOffice();
    const hookDir = tempDir('sandbox-hook');
    const hookLog = join(hookDir, 'modes');
    const hook = join(hookDir, 'hook.sh');
    writeFileSync(hook, `#!/bin/sh\necho "$DEVLIC_MODE" >> '${hookLog}'\n`);
    chmodSync(hook, 0o755);
    const agent = new TestAgent('sandboxed', {
      wrapper: sandbox(),
      config: { apps: [{ name: 'file' }, { name: 'libreoffice', installRoot: lo }, { name: 'hook', path: hook }] },
    });
    const enrolled = await agent.enroll(lab.svc.url, await lab.enrollToken());
    expect(enrolled.code, enrolled.stderr).toBe(0);
    await agent.start();
    try {
      // The daemon really runs confined: no capability at all, the filter loaded, no_new_privs.
      const st = procStatus(agent.proc!.pid!);
      expect(st.CapEff).toBe('0000000000000000');
      expect(st.CapPrm).toBe('0000000000000000');
      expect(st.CapBnd).toBe('0000000000000000');
      expect(st.NoNewPrivs).toBe('1');
      expect(st.Seccomp).toBe('2');
      expect(readFileSync(`/proc/${agent.proc!.pid}/cmdline`, 'utf8')).toContain('agent/main.ts');

      const layer = join(lo, 'share', 'registry', LAYER_FILE);
      await agent.waitMode('read-only', undefined, 30_000);
      await waitFor('the LibreOffice layer', () => existsSync(layer), 20_000);
      expect(statSync(layer).mode & 0o777).toBe(0o644);
      expect(readFileSync(layer, 'utf8')).toContain('ViewerAppMode');
      expect(statSync(join(agent.dataDir, 'app-mode.json')).mode & 0o777).toBe(0o644);

      await lab.assign();
      await agent.waitMode('full', 'ASSIGNED', 30_000);
      await waitFor('the layer removed', () => !existsSync(layer), 20_000);
      await waitFor('the hook run for full', () => existsSync(hookLog) && readFileSync(hookLog, 'utf8').trim().split('\n').at(-1) === 'full', 20_000);

      await lab.unassign();
      await agent.waitMode('read-only', undefined, 30_000);
      await waitFor('the layer back', () => existsSync(layer), 20_000);
      await waitFor('the hook run for read-only', () => readFileSync(hookLog, 'utf8').trim().split('\n').at(-1) === 'read-only', 20_000);

      const status = await agent.status();
      const byName = Object.fromEntries(status.enforcers.map((e: { name: string; ok: boolean; error: string | null }) => [e.name, e]));
      for (const name of ['file', 'libreoffice', 'hook']) expect(byName[name], `${name}: ${JSON.stringify(byName[name])}`).toMatchObject({ ok: true });
      expect(agent.output).not.toMatch(/EPERM|operation not permitted/i);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  }, 180_000);

  it('the licensing service runs under its unit\'s system call filter: starts, writes its database, answers, stops cleanly', async () => {
    const port = await freePort();
    const dataDir = join(tempDir('sandbox-svc'), 'data');
    const [file, ...args] = [...sandbox(serverUnit()), NODE, join(ROOT, 'service/main.ts'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`];
    const proc = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      await waitFor(`the sandboxed service (output: ${out})`, async () => {
        if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${out}`);
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      }, 30_000, 50);
      expect(procStatus(proc.pid!).Seccomp).toBe('2');
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const created = await fetch(`http://127.0.0.1:${port}/v1/admin/groups`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sandboxed' }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/EPERM|operation not permitted/i);
  }, 90_000);

  // serve --workers: fork, the cluster's IPC channel and the connections it hands to workers (SCM_RIGHTS) under the same filter.
  it.skipIf(!!PG_MISSING)('serve --workers 2 runs under the unit\'s system call filter: both workers answer, SIGTERM stops all, exit 0', async () => {
    const pg = await startPostgres();
    const port = await freePort();
    const [file, ...args] = [...sandbox(serverUnit()), NODE, join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(tempDir('sandbox-wk'), 'data'),
      '--listen', `127.0.0.1:${port}`, '--database', await pg.createDatabase(), '--workers', '2'];
    const proc = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVLIC_LOG_LEVEL: 'info' } });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      await waitFor(`the sandboxed workers (output: ${out})`, () => {
        if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${out}`);
        return out.includes('"msg":"devlic-server listening"');
      }, 60_000, 50);
      const seen = new Set<number>();
      for (let i = 0; i < 6; i++) {
        const p = await pinned(`http://127.0.0.1:${port}`);
        seen.add(p.worker);
        await p.close();
      }
      expect([...seen].sort()).toEqual([1, 2]);
      for (const l of out.split('\n').filter((x) => x.includes('"msg":"worker started"'))) expect(procStatus(JSON.parse(l).pid).Seccomp).toBe('2');
    } finally {
      proc.kill('SIGTERM');
      const code = await exited;
      await pg.stop();
      expect(code).toBe(0);
    }
    expect(out).not.toMatch(/EPERM|operation not permitted/i);
  }, 120_000);

  it('the filter is real: a call outside it fails with EPERM, and the process lives on', () => {
    const script = "const os = require('node:os'); try { os.setPriority(0, 5); console.log('allowed'); } catch (e) { console.log(e.info?.code ?? e.code); }";
    const [file, ...args] = [...sandbox(), NODE, '-e', script];
    const r = spawnSync(file, args, { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // setpriority() is in @resources, which the unit takes out of @system-service.
    expect(r.stdout.trim()).toBe('EPERM');
    const plain = spawnSync(NODE, ['-e', script], { encoding: 'utf8' });
    expect(plain.stdout.trim()).toBe('allowed');
  });
});

describe.runIf(!!missing && !skip)('the agent sandbox test', () => {
  it('needs its programs here (DEVLIC_REQUIRE_REAL_APPS=1)', () => { expect.fail(missing); });
});
