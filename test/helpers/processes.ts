// Starts real devlic processes for integration tests: the pinned Node running
// the TypeScript entry points, on loopback ports, in temp data folders.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { databaseFor } from './test-backend.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');

export { tempDir } from './temp-dirs.ts';
import { tempDir } from './temp-dirs.ts';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ServiceProcess {
  url: string;
  port: number;
  dataDir: string;
  /** PostgreSQL URL (opts.database, or the folder's own under DEVLIC_TEST_BACKEND=postgres), else null (SQLite in dataDir). */
  database: string | null;
  /** The bootstrap token from dataDir; '' for a replica joining a database whose admin another replica made. */
  adminToken: string;
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** Starts `devlic-server serve` as a real process and waits until /healthz answers. */
/**
 * database: a PostgreSQL URL (replicas sharing one database; benchmarks pick their backend per run),
 * null for SQLite; without it, DEVLIC_TEST_BACKEND decides (test-backend.ts).
 */
/** logLevel: the service's DEVLIC_LOG_LEVEL (default warn; 'info' for a test that reads what the service logs). */
/** startTimeoutMs: how long /healthz may take to answer (default 20 s); a service not up by then is killed. */
/** env: more environment for the service (e.g. DEVLIC_LONGPOLL_ANSWER=fastify). */
export async function startService(opts: { dataDir?: string; port?: number; config?: Record<string, unknown>; openFiles?: number; database?: string | null; logLevel?: string; startTimeoutMs?: number; env?: Record<string, string> } = {}): Promise<ServiceProcess> {
  const dataDir = opts.dataDir ?? join(tempDir('svc'), 'data');
  const port = opts.port ?? await freePort();
  const args = [join(ROOT, 'service', 'main.ts'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`];
  const database = opts.database !== undefined ? opts.database : await databaseFor(dataDir);
  if (database) args.push('--database', database);
  if (opts.config) {
    const file = join(tempDir('svccfg'), 'server.json');
    writeFileSync(file, JSON.stringify(opts.config));
    args.push('--config', file);
  }
  // openFiles: soft and hard RLIMIT_NOFILE of the service (Node raises the soft limit to the hard one, so both are set).
  const [cmd, argv] = opts.openFiles ? ['prlimit', [`--nofile=${opts.openFiles}:${opts.openFiles}`, NODE, ...args]] : [NODE, args];
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVLIC_LOG_LEVEL: opts.logLevel ?? 'warn', ...opts.env } });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`devlic-server on ${url} (output: ${out})`, async () => {
      if (proc.exitCode !== null) throw new Error(`devlic-server exited ${proc.exitCode}: ${out}`);
      const r = await fetch(`${url}/healthz`);
      return r.ok;
    }, opts.startTimeoutMs ?? 20_000, 50);
  } catch (e) {
    // Nobody gets a handle to stop it: one that came up too slowly must not run on after the test.
    if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; }
    throw e;
  }
  const tokenFile = join(dataDir, 'admin-token');
  const adminToken = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  return {
    url, port, dataDir, database, adminToken, proc, output: () => out,
    async stop() { if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGTERM'); await exited; } },
    async kill9() { if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; } },
  };
}
