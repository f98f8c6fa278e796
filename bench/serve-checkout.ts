// Starts `devlic-server serve` from a checkout (this one, or a baseline's
// unpacked for a same-run pair) the way the wake and storm benches need it:
// loopback on a free port, the connection limits this sandbox's 20,000 open
// files allow, optionally `--workers N`, and ready only once every worker
// listens (the host's /metrics counts them), so a timed storm or wake never
// meets a half-started cluster.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, NODE, tempDir, waitFor } from '../test/helpers/processes.ts';

export interface ServeOptions {
  database: string | null;
  workers: number;
  /** Long-polls one process may hold (default: as many as its open files allow). */
  maxLongPolls?: number;
  /** Node flags before the program (e.g. --cpu-prof). */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export async function serveCheckout(root: string, dataDir: string, o: ServeOptions) {
  const port = await freePort();
  const cfg = join(tempDir('benchcfg'), 'server.json');
  writeFileSync(cfg, JSON.stringify({ maxConnections: 19_936, maxLongPolls: o.maxLongPolls ?? 19_935, ...(o.workers > 1 ? { workers: o.workers } : {}) }));
  const args = [...(o.nodeArgs ?? []), join(root, 'service', 'main.ts'), 'serve',
    '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--config', cfg, ...(o.database ? ['--database', o.database] : [])];
  const proc = spawn(NODE, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEVLIC_LOG_LEVEL: 'warn', ...o.env } });
  let err = '';
  proc.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`devlic-server (${err})`, async () => {
    if (proc.exitCode !== null) throw new Error(`devlic-server exited ${proc.exitCode}: ${err}`);
    if (o.workers === 1) return (await fetch(`${url}/healthz`)).ok;
    return (await (await fetch(`${url}/metrics`)).text()).includes(`devlic_server_workers ${o.workers}`);
  }, 60_000, 50);
  return { url, port, proc, async stop() { if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGTERM'); await exited; } } };
}
