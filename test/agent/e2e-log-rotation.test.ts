// `devlic-agent run --log-file FILE --pid-file FILE` with the real service
// and a real agent process: the log rotation macOS's newsyslog does (rename
// the log, create a new empty one, SIGUSR2 to the pid in the pid file),
// done by hand on Linux. Every line after the rotation must reach the new
// file (a mode change, the shutdown), none the renamed one; the pid file
// names the agent while it runs and is gone after it stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';
import { NODE, ROOT, waitFor } from '../helpers/processes.ts';

let lab: Lab;
let agent: TestAgent;
let proc: ChildProcess | undefined;
let stderr = '';

beforeAll(async () => {
  lab = await startLab();
  agent = new TestAgent('logrot');
  const r = await agent.enroll(lab.svc.url, await lab.enrollToken());
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await lab?.svc.stop();
});

const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
const msgs = (f: string) => read(f).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);

describe('agent log file and rotation', () => {
  it('writes its log to the file, reopens it on SIGUSR2 after a rename, and loses no line', async () => {
    const log = join(agent.dir, 'agent.log');
    const pidFile = join(agent.dir, 'agent.pid');
    proc = spawn(NODE, [join(ROOT, 'agent/main.ts'), 'run', '--data-dir', agent.dataDir, '--config', agent.configFile, '--log-file', log, '--pid-file', pidFile], {
      env: agent.env(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    proc.stdout!.on('data', (d) => { stdout += d; });
    proc.stderr!.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));

    await waitFor('agent started, in the log file', () => {
      if (proc!.exitCode !== null) throw new Error(`agent exited ${proc!.exitCode}: ${stderr}`);
      return msgs(log).includes('agent started');
    }, 30_000);
    expect(Number(read(pidFile).trim())).toBe(proc.pid);
    expect(statSync(log).mode & 0o037, 'no other user reads it, no group writes it').toBe(0);

    // What newsyslog does: rename, create the new empty log, signal the pid from the pid file.
    const rotated = `${log}.0`;
    renameSync(log, rotated);
    writeFileSync(log, '', { mode: 0o640 });
    process.kill(Number(read(pidFile).trim()), 'SIGUSR2');
    await waitFor('the reopen said in the new file', () => msgs(log).includes('log file reopened'), 20_000);
    const before = read(rotated);

    await lab.assign();
    await waitFor('the mode change logged in the new file', () => msgs(log).includes('mode changed'), 30_000);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);

    expect(msgs(log)).toEqual(expect.arrayContaining(['log file reopened', 'mode changed', 'shutting down', 'agent stopped']));
    expect(read(rotated), 'nothing written to the renamed file after the reopen').toBe(before);
    expect(msgs(rotated)).toContain('agent started');
    expect(stdout, 'nothing on stdout: the log goes to the file').toBe('');
    expect(existsSync(pidFile), 'pid file removed at exit').toBe(false);
  }, 120_000);

  it('refuses --pid-file without --log-file (usage error, exit 2)', async () => {
    const r = await agent.cli(['run', '--pid-file', join(agent.dir, 'x.pid')], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--pid-file goes with --log-file/);
    expect(existsSync(join(agent.dir, 'x.pid'))).toBe(false);
  });
});
