// The built devlic-server single executable (npm run build) with --workers 2
// on a real PostgreSQL, run with an empty environment: node:cluster forks the
// executable itself (process.execPath; the worker ignores the argv a single
// executable lays out differently and takes its settings from the primary),
// both workers answer, a worker killed with SIGKILL is started again, and
// SIGTERM stops all of them with exit 0. Skips loudly when dist/ is not built.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describePostgres } from '../helpers/postgres.ts';
import { freePort, tempDir, waitFor } from '../helpers/processes.ts';
import { pinned } from '../service-replicas/workers.ts';
import { builtMissing, DIST, skipLoudly } from './helpers.ts';

const missing = builtMissing('devlic-server', 'better_sqlite3.node');
const skip = skipLoudly('the built devlic-server --workers test', missing);

const lines = (out: string, msg: string) => out.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l.slice(l.indexOf('{'))));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describePostgres('built devlic-server --workers 2', (cluster) => {
  it.skipIf(skip)('forks itself as the workers, restarts one killed, stops all on SIGTERM', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = spawn(join(DIST, 'devlic-server'), ['serve', '--data-dir', join(tempDir('built-wk'), 'data'), '--listen', `127.0.0.1:${port}`,
      '--database', await cluster().createDatabase(), '--workers', '2'], { env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      await waitFor(`the workers listening (output: ${out})`, () => lines(out, 'devlic-server listening').length === 1, 60_000);
      const seen = new Set<number>();
      for (let i = 0; i < 6; i++) { const p = await pinned(url); seen.add(p.worker); await p.close(); }
      expect([...seen].sort()).toEqual([1, 2]);
      const pids = new Map(lines(out, 'worker started').map((l) => [l.worker, l.pid]));
      process.kill(pids.get(2), 'SIGKILL');
      await waitFor('worker 3 listening', () => lines(out, 'worker listening').some((l) => l.worker === 3), 30_000);
      const after = new Set<number>();
      for (let i = 0; i < 6; i++) { const p = await pinned(url); after.add(p.worker); await p.close(); }
      expect([...after].sort()).toEqual([1, 3]);
      const running = lines(out, 'worker started').map((l) => l.pid as number).filter(alive);
      expect(running).toHaveLength(2);
      proc.kill('SIGTERM');
      expect(await exit).toBe(0);
      await waitFor('every worker gone', () => running.every((p) => !alive(p)));
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      for (const l of lines(out, 'worker started')) if (alive(l.pid)) process.kill(l.pid, 'SIGKILL');
    }
  });
});
