// CPU accounting for the benchmarks that compare a server with its baseline:
// a process's CPU seconds from /proc, a throwaway PostgreSQL cluster's
// processes, and the service run under --cpu-prof with the profile's
// measured window summarised by package and function.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** User + system CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** The postmaster and its backends of a throwaway cluster (its pid is the first line of postmaster.pid). */
export function postgresPids(clusterDir: string): number[] {
  const root = Number(readFileSync(join(clusterDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const kids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === root;
    } catch {
      return false;
    }
  });
  return [root, ...kids];
}

/** The service started like startService does, but with --cpu-prof (profile written at exit). */
export async function startServiceProfiled(tempDir: (p: string) => string, profDir: string) {
  const { freePort, NODE, ROOT, waitFor } = await import('../test/helpers/processes.ts');
  const { writeFileSync } = await import('node:fs');
  const dataDir = join(tempDir('svc'), 'data');
  const port = await freePort();
  const cfgFile = join(tempDir('svccfg'), 'server.json');
  writeFileSync(cfgFile, JSON.stringify({ enrollPerMinute: 1_000_000 }));
  const proc = spawn(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, join(ROOT, 'service', 'main.ts'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--config', cfgFile],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEVLIC_LOG_LEVEL: 'warn' } });
  let err = '';
  proc.stderr!.on('data', (d) => { err += d; }); // the first start prints the bootstrap admin token here
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.once('exit', (code) => { if (code) process.stderr.write(`devlic-server exited ${code}:\n${err}`); });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('devlic-server', async () => (await fetch(`${url}/healthz`)).ok, 20_000, 50);
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return { url, port, dataDir, adminToken, proc, async stop() { proc.kill('SIGTERM'); await exited; } };
}

/**
 * Prints where the service spent its CPU during the measured window: self time by package/file and the top
 * functions. The window is [end - endGap - seconds, end - endGap] of the profile (its end is the process exit).
 * Native work (SQLite, sockets) is charged to the JS function that called it.
 */
export function summariseProfile(name: string, file: string, endGapSeconds: number, seconds: number): void {
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
  const to = prof.endTime - endGapSeconds * 1e6;
  const from = to - seconds * 1e6;
  const hits = new Map<number, number>();
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    if (t >= from && t <= to) hits.set(prof.samples[i], (hits.get(prof.samples[i]) ?? 0) + 1);
  }
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0, idle = 0;
  for (const n of prof.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (!h) continue;
    total += h;
    if (n.callFrame.functionName === '(idle)') { idle += h; continue; }
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'node_modules/').replace(`${join(import.meta.dirname, '..')}/`, '');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url || '(native)'}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + h);
    const parts = url.split('/');
    const group = url.startsWith('node_modules/') ? parts.slice(0, parts[1]?.startsWith('@') ? 3 : 2).join('/') : url.startsWith('node:') ? 'node: internals (http, net, streams)' : url || `${n.callFrame.functionName} (native)`;
    byFile.set(group, (byFile.get(group) ?? 0) + h);
  }
  const busy = total - idle;
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k)
    .map(([label, n]) => `  ${((n / busy) * 100).toFixed(1).padStart(5)} %  ${label}`).join('\n');
  console.log(`\n== ${name}: CPU during the last measured ${seconds.toFixed(1)} s: ${total} samples, ${((idle / Math.max(1, total)) * 100).toFixed(0)} % idle; shares of busy time:`);
  console.log(`\nself time by package/file:\n${top(byFile, 15)}\n\ntop functions by self time:\n${top(self, 25)}`);
}
