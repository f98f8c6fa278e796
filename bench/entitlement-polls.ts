// Benchmark: entitlement polls per second on the 304 path.
//
// What it measures: the steady state of a fleet whose entitlements did not
// change: every agent asks "still seq N?" (If-None-Match) with its device
// request token, and the service answers 304. That is the request the
// service answers most, so its cost sets how many agents one server carries.
//
// How: the real devlic-server process (test/helpers/processes.ts) on a fresh
// SQLite file, N devices enrolled through the real protocol (admin API:
// subscription, group, enroll token, assignment), each device's current
// ETag fetched once. The baseline, in the same run, is a bare Node `http`
// server (a separate process, same pinned Node) answering every request
// with a 304 carrying the same header bytes as the service's own 304.
// The load generator is a third process (undici Pool, keep-alive), the
// same for both servers. On Linux the server is pinned to CPU 0 and the
// generator to CPU 1 (taskset), so they do not share a core.
//
// Run:   node_modules/.bin/node bench/entitlement-polls.ts
// Knobs (env): BENCH_DEVICES=50 BENCH_SECONDS=5 BENCH_WARMUP_SECONDS=2
//              BENCH_CONNECTIONS=50 BENCH_PIPELINING=1 BENCH_PIN=1
//              BENCH_CPU_PROF=1  (writes a V8 CPU profile of the service to bench/profiles/)
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const role = process.argv[2];

// ----------------------------------------------------------------- shared types

interface Target { path: string; headers: Record<string, string> }
interface GenConfig { url: string; targets: Target[]; connections: number; pipelining: number; warmupMs: number; durationMs: number; expectStatus: number }
interface GenResult { requests: number; seconds: number; statuses: Record<string, number>; errors: number; p50: number; p90: number; p99: number; max: number }

// ----------------------------------------------------------------- role: bare server

function runBare(): void {
  const spec = JSON.parse(process.env.BENCH_BARE_SPEC!) as { status: number; headers: [string, string][]; keepAliveTimeoutMs: number };
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(spec.status, spec.headers);
    res.end();
  });
  server.keepAliveTimeout = spec.keepAliveTimeoutMs;
  server.listen(0, '127.0.0.1', () => {
    process.send!({ port: (server.address() as { port: number }).port });
  });
  process.on('message', (m: any) => { if (m === 'stop') server.close(() => process.exit(0)); });
}

// ----------------------------------------------------------------- role: load generator

async function runGenerator(): Promise<void> {
  const { Pool } = await import('undici');
  process.once('message', async (cfg: GenConfig) => {
    const pool = new Pool(cfg.url, { connections: cfg.connections, pipelining: cfg.pipelining, keepAliveTimeout: 60_000 });
    const workers = cfg.connections * cfg.pipelining;
    let next = 0;
    let measuring = false;
    let stop = false;
    let errors = 0;
    const statuses: Record<string, number> = {};
    const lat: number[] = [];
    async function worker(): Promise<void> {
      while (!stop) {
        const t = cfg.targets[next++ % cfg.targets.length];
        const started = performance.now();
        try {
          const r = await pool.request({ path: t.path, method: 'GET', headers: t.headers });
          await r.body.dump();
          if (measuring) {
            lat.push(performance.now() - started);
            statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
          }
        } catch {
          if (measuring) errors++;
        }
      }
    }
    const running = Array.from({ length: workers }, () => worker());
    await new Promise((r) => setTimeout(r, cfg.warmupMs));
    measuring = true;
    const t0 = performance.now();
    process.send!({ event: 'measuring' });
    await new Promise((r) => setTimeout(r, cfg.durationMs));
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    process.send!({ event: 'measured' });
    stop = true;
    await Promise.all(running);
    await pool.close();
    lat.sort((a, b) => a - b);
    const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
    const result: GenResult = { requests: lat.length, seconds, statuses, errors, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat.at(-1) ?? NaN };
    process.send!({ event: 'result', result }, () => process.exit(0));
  });
}

// ----------------------------------------------------------------- role: orchestrator

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const DEVICES = env('BENCH_DEVICES', 50);
const SECONDS = env('BENCH_SECONDS', 5);
const WARMUP = env('BENCH_WARMUP_SECONDS', 2);
const CONNECTIONS = env('BENCH_CONNECTIONS', 50);
const PIPELINING = env('BENCH_PIPELINING', 1);
const PIN = env('BENCH_PIN', 1) === 1 && process.platform === 'linux' && cpus().length >= 2 && hasTaskset();
const CPU_PROF = env('BENCH_CPU_PROF', 0) === 1;

function hasTaskset(): boolean {
  try { execFileSync('taskset', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** Pins a process and all its threads to one CPU. */
function pin(pid: number, cpu: number): void {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** User + system CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Sends one raw HTTP/1.1 request and returns the raw response head (a 304 has no body). */
function rawHead(port: number, path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setEncoding('latin1');
    s.on('connect', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    });
    s.on('data', (d) => {
      buf += d;
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) { s.destroy(); resolve(buf.slice(0, end + 4)); }
    });
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('raw request timed out')); });
  });
}

function parseHead(head: string): { status: number; headers: [string, string][] } {
  const [statusLine, ...lines] = head.trimEnd().split('\r\n');
  return { status: Number(statusLine.split(' ')[1]), headers: lines.map((l) => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string]; }) };
}

async function generate(cfg: GenConfig, serverPid: number): Promise<GenResult & { serverCpu: number }> {
  const NODE = process.execPath;
  const gen = fork(SELF, ['gen'], { execPath: NODE, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  pin(gen.pid!, 1);
  let cpuAtStart = NaN, cpuAtEnd = NaN;
  const result = await new Promise<GenResult>((resolve, reject) => {
    gen.on('message', (m: any) => {
      if (m.event === 'measuring') cpuAtStart = cpuSeconds(serverPid);
      else if (m.event === 'measured') cpuAtEnd = cpuSeconds(serverPid);
      else if (m.event === 'result') resolve(m.result);
    });
    gen.once('exit', (code) => reject(new Error(`load generator exited ${code} without a result`)));
    gen.send(cfg);
  });
  return { ...result, serverCpu: (cpuAtEnd - cpuAtStart) / result.seconds };
}

async function startBare(spec: { status: number; headers: [string, string][]; keepAliveTimeoutMs: number }): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(SELF, ['bare'], { execPath: process.execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_BARE_SPEC: JSON.stringify(spec) } });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('message', (m: any) => resolve(m.port));
    proc.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  return { proc, port };
}

async function main(): Promise<void> {
  const { startService, tempDir } = await import('../test/helpers/processes.ts');
  const { adminClient } = await import('../test/helpers/admin.ts');
  const { SimDevice, fakeFacts } = await import('../test/helpers/sim-device.ts');
  const { signDeviceRequestToken } = await import('../shared/token.ts');
  const { DEVICE_AUTH_AUDIENCE, DEVICE_AUTH_SCHEME, API } = await import('../shared/api.ts');

  if (SECONDS + WARMUP > 600) throw new Error('BENCH_SECONDS + BENCH_WARMUP_SECONDS must stay under 600 s (device tokens live 15 minutes)');
  const cpuModel = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? '?';
  console.log(`devlic bench: entitlement polls (304 path), ${DEVICES} devices, ${CONNECTIONS} connections x pipelining ${PIPELINING}, warm-up ${WARMUP} s, measure ${SECONDS} s`);
  console.log(`machine: ${cpus().length} CPUs, ${cpuModel}, node ${process.version}, pinning ${PIN ? 'server CPU 0, generator CPU 1 (taskset)' : 'off'}`);

  // --- the real service, with real devices
  const profDir = join(import.meta.dirname, 'profiles');
  if (CPU_PROF) mkdirSync(profDir, { recursive: true });
  const svc = CPU_PROF
    ? await startServiceProfiled(tempDir, profDir)
    : await startService({ config: { enrollPerMinute: 1_000_000 } });
  try {
    pin(svc.proc.pid!, 0);
    const admin = adminClient(svc.url, svc.adminToken);
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: DEVICES, name: 'Bench EA' });
    await admin.ok('POST', '/groups', { name: 'Bench devices' });
    const enrollToken = await admin.ok('POST', '/enroll-tokens', { uses: DEVICES, group: 'Bench devices' });
    const devices: InstanceType<typeof SimDevice>[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const d = new SimDevice(svc.url, fakeFacts(`bench-${i}`));
      const r = await d.enroll(enrollToken.token);
      if (r.status !== 201) throw new Error(`enroll ${i} failed: ${r.status} ${JSON.stringify(r.body)}`);
      devices.push(d);
    }
    await admin.ok('POST', '/licenses/assign', { subscription: 'Bench EA', group: 'Bench devices' });
    const now = Math.floor(Date.now() / 1000);
    const targets: Target[] = [];
    let licensed = 0;
    for (const d of devices) {
      const first = await d.entitlement();
      if (first.status !== 200 || !first.etag) throw new Error(`first entitlement of ${d.deviceId}: ${first.status}`);
      if (first.body && JSON.parse(Buffer.from(first.body.token.split('.')[1], 'base64url').toString()).status === 'licensed') licensed++;
      // One request token per device for the whole run (the service caches its verification, as with a real agent).
      const jwt = await signDeviceRequestToken(d.privateKey, d.deviceId, DEVICE_AUTH_AUDIENCE, now, 900);
      targets.push({ path: API.entitlement, headers: { authorization: `${DEVICE_AUTH_SCHEME} ${jwt}`, 'if-none-match': first.etag } });
    }
    if (licensed !== DEVICES) throw new Error(`only ${licensed} of ${DEVICES} devices are licensed`);

    // --- the service's actual 304, byte for byte
    const svcHead = await rawHead(svc.port, targets[0].path, targets[0].headers);
    const parsed = parseHead(svcHead);
    if (parsed.status !== 304) throw new Error(`expected a 304 from the service, got:\n${svcHead}`);
    const auto = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
    const keepAlive = parsed.headers.find(([k]) => k.toLowerCase() === 'keep-alive')?.[1];
    const keepAliveTimeoutMs = keepAlive ? Number(/timeout=(\d+)/.exec(keepAlive)?.[1] ?? 5) * 1000 : 5000;
    const bare = await startBare({ status: 304, headers: parsed.headers.filter(([k]) => !auto.has(k.toLowerCase())), keepAliveTimeoutMs });
    pin(bare.proc.pid!, 0);
    try {
      const bareHead = await rawHead(bare.port, targets[0].path, targets[0].headers);
      console.log(`\nservice 304 response: ${Buffer.byteLength(svcHead, 'latin1')} bytes, no body; bare 304 response: ${Buffer.byteLength(bareHead, 'latin1')} bytes, no body`);
      console.log(svcHead.trimEnd().split('\r\n').map((l) => `  | ${l}`).join('\n'));

      const cfg = (url: string): GenConfig => ({
        url, targets, connections: CONNECTIONS, pipelining: PIPELINING, warmupMs: WARMUP * 1000, durationMs: SECONDS * 1000, expectStatus: 304,
      });
      // Same generator, one server at a time; the bare server first so a slow service warm-up cannot help it.
      const bareRes = await generate(cfg(`http://127.0.0.1:${bare.port}`), bare.proc.pid!);
      const svcRes = await generate(cfg(svc.url), svc.proc.pid!);
      report([['bare node:http (304)', bareRes], ['devlic-server (304)', svcRes]]);
      const other = Object.entries(svcRes.statuses).filter(([s]) => s !== '304');
      if (other.length || svcRes.errors) {
        console.log(`\nWARNING: the service answered something other than 304: ${JSON.stringify(svcRes.statuses)}, errors ${svcRes.errors}`);
        process.exitCode = 1;
      }
      const ratio = (svcRes.requests / svcRes.seconds) / (bareRes.requests / bareRes.seconds);
      console.log(`\nservice / bare throughput: ${(ratio * 100).toFixed(1)} % (aim >= 50 %)`);
      if (bareRes.serverCpu < 0.9) {
        console.log(`note: the bare server used ${(bareRes.serverCpu * 100).toFixed(0)} % of its core, so the generator, not the server, limited it; compare requests per server CPU-second too.`);
      }
    } finally {
      bare.proc.send('stop');
      await new Promise((r) => bare.proc.once('exit', r));
    }
  } finally {
    await svc.stop();
    if (CPU_PROF) {
      const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort();
      console.log(`\nCPU profile of the service: ${join(profDir, files.at(-1) ?? '?')} (open in Chrome DevTools > Performance, or summarise with BENCH_CPU_PROF)`);
      if (files.length) summariseProfile(join(profDir, files.at(-1)!));
    }
  }
}

function report(rows: [string, GenResult & { serverCpu: number }][]): void {
  const header = ['server', 'requests/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'server CPU', 'req per CPU-s', 'non-304', 'errors'];
  const lines = rows.map(([name, r]) => {
    const rps = r.requests / r.seconds;
    const non304 = Object.entries(r.statuses).filter(([s]) => s !== '304').reduce((n, [, c]) => n + c, 0);
    return [name, rps.toFixed(0), r.p50.toFixed(2), r.p90.toFixed(2), r.p99.toFixed(2), r.max.toFixed(1),
      Number.isNaN(r.serverCpu) ? 'n/a' : `${(r.serverCpu * 100).toFixed(0)} %`, Number.isNaN(r.serverCpu) ? 'n/a' : (rps / r.serverCpu).toFixed(0),
      String(non304), String(r.errors)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(fmt).join('\n')}`);
}

/** The service started like startService does, but with --cpu-prof (profile written at exit). */
async function startServiceProfiled(tempDir: (p: string) => string, profDir: string) {
  const { freePort, NODE, ROOT, waitFor } = await import('../test/helpers/processes.ts');
  const { writeFileSync } = await import('node:fs');
  const dataDir = join(tempDir('svc'), 'data');
  const port = await freePort();
  const cfgFile = join(tempDir('svccfg'), 'server.json');
  writeFileSync(cfgFile, JSON.stringify({ enrollPerMinute: 1_000_000 }));
  const proc = spawn(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, join(ROOT, 'service', 'main.ts'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--config', cfgFile],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEVLIC_LOG_LEVEL: 'warn' } });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('devlic-server', async () => (await fetch(`${url}/healthz`)).ok, 20_000, 50);
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return { url, port, adminToken, proc, async stop() { proc.kill('SIGTERM'); await exited; } };
}

/** Prints the top self-time functions of a V8 .cpuprofile, grouped by function and file. */
function summariseProfile(file: string): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[] };
  const total = prof.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0);
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of prof.nodes) {
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'node_modules/').replace(/.*\/work\/main\//, '');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url || '(native)'}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (n.hitCount ?? 0));
    const pkg = url.startsWith('node_modules/') ? url.split('/').slice(0, url.split('/')[1].startsWith('@') ? 3 : 2).join('/') : url.startsWith('node:') ? 'node: internals' : url || n.callFrame.functionName;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + (n.hitCount ?? 0));
  }
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, n]) => `  ${((n / total) * 100).toFixed(1).padStart(5)} %  ${name}`).join('\n');
  console.log(`\nself time by package/file (whole process life, incl. setup):\n${top(byFile, 15)}\n\ntop functions by self time:\n${top(self, 25)}`);
}

if (role === 'bare') runBare();
else if (role === 'gen') await runGenerator();
else await main();
