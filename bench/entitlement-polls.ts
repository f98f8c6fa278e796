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
// Knobs (env): DEVLIC_BENCH_DEVICES=50 DEVLIC_BENCH_SECONDS=5 DEVLIC_BENCH_WARMUP_SECONDS=2
//              DEVLIC_BENCH_CONNECTIONS=50 DEVLIC_BENCH_PIPELINING=1 DEVLIC_BENCH_PIN=1
//              DEVLIC_BENCH_ROUNDS=1 (alternate bare/service N times; medians)
//              DEVLIC_BENCH_CPU_PROF=1 (V8 CPU profiles of both servers, summarised over the measured window)
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, postgresPids, startServiceProfiled, summariseProfile } from './cpu-accounting.ts';

const SELF = fileURLToPath(import.meta.url);
const role = process.argv[2];

// ----------------------------------------------------------------- shared types

interface Target { path: string; headers: Record<string, string> }
interface GenConfig { url: string; targets: Target[]; connections: number; pipelining: number; warmupMs: number; durationMs: number }
interface GenResult { requests: number; seconds: number; statuses: Record<string, number>; errors: number; connects: number; p50: number; p90: number; p99: number; max: number }

// ----------------------------------------------------------------- role: bare server

function runBare(): void {
  const spec = JSON.parse(process.env.DEVLIC_BENCH_BARE_SPEC!) as { status: number; headers: [string, string][]; keepAliveTimeoutMs: number };
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
    // Keep-alive must hold: a server answer that makes the client drop the connection shows up here.
    let connects = 0;
    pool.on('connect', () => { if (measuring) connects++; });
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
    const result: GenResult = { requests: lat.length, seconds, statuses, errors, connects, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat.at(-1) ?? NaN };
    process.send!({ event: 'result', result }, () => process.exit(0));
  });
}

// ----------------------------------------------------------------- role: orchestrator

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const DEVICES = env('DEVLIC_BENCH_DEVICES', 50);
const SECONDS = env('DEVLIC_BENCH_SECONDS', 5);
const WARMUP = env('DEVLIC_BENCH_WARMUP_SECONDS', 2);
const CONNECTIONS = env('DEVLIC_BENCH_CONNECTIONS', 50);
const PIPELINING = env('DEVLIC_BENCH_PIPELINING', 1);
const ROUNDS = Math.max(1, env('DEVLIC_BENCH_ROUNDS', 1));
const PIN = env('DEVLIC_BENCH_PIN', 1) === 1 && process.platform === 'linux' && cpus().length >= 2 && hasTaskset();
const CPU_PROF = env('DEVLIC_BENCH_CPU_PROF', 0) === 1;
const PROF_DIR = process.env.DEVLIC_BENCH_PROF_DIR ?? join(tmpdir(), `devlic-bench-profiles-${process.pid}`);

function hasTaskset(): boolean {
  try { execFileSync('taskset', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** Pins a process and all its threads to one CPU. */
function pin(pid: number, cpu: number): void {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
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

type Measured = GenResult & { serverCpu: number; dbCpu: number; measuredAt: number };

/** serverPid's CPU, and the database's (PostgreSQL's processes; 0 for SQLite, which runs inside the service). */
async function generate(cfg: GenConfig, serverPid: number, dbPids: () => number[] = () => []): Promise<Measured> {
  const gen = fork(SELF, ['gen'], { execPath: process.execPath, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  pin(gen.pid!, 1);
  let cpuAtStart = NaN, cpuAtEnd = NaN, measuredAt = NaN;
  const dbCpu = () => dbPids().reduce((n, pid) => n + (cpuSeconds(pid) || 0), 0);
  let dbAtStart = 0, dbAtEnd = 0;
  const result = await new Promise<GenResult>((resolve, reject) => {
    gen.on('message', (m: any) => {
      if (m.event === 'measuring') { cpuAtStart = cpuSeconds(serverPid); dbAtStart = dbCpu(); }
      else if (m.event === 'measured') { cpuAtEnd = cpuSeconds(serverPid); dbAtEnd = dbCpu(); measuredAt = performance.now(); }
      else if (m.event === 'result') resolve(m.result);
    });
    gen.once('exit', (code) => reject(new Error(`load generator exited ${code} without a result`)));
    gen.send(cfg);
  });
  return { ...result, serverCpu: (cpuAtEnd - cpuAtStart) / result.seconds, dbCpu: (dbAtEnd - dbAtStart) / result.seconds, measuredAt };
}

interface Bare { proc: ChildProcess; port: number; stop(): Promise<number> }

async function startBare(spec: { status: number; headers: [string, string][]; keepAliveTimeoutMs: number }): Promise<Bare> {
  const execArgv = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(PROF_DIR, 'bare')}`] : [];
  const proc = fork(SELF, ['bare'], { execPath: process.execPath, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, DEVLIC_BENCH_BARE_SPEC: JSON.stringify(spec) } });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('message', (m: any) => resolve(m.port));
    proc.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  pin(proc.pid!, 0);
  return {
    proc, port,
    async stop() {
      const at = performance.now();
      const exited = new Promise((r) => proc.once('exit', r));
      proc.send('stop');
      await exited;
      return at;
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const rps = (r: GenResult) => r.requests / r.seconds;

async function main(): Promise<void> {
  const { startService, tempDir } = await import('../test/helpers/processes.ts');
  const { adminClient } = await import('../test/helpers/admin.ts');
  const { SimDevice, fakeFacts } = await import('../test/helpers/sim-device.ts');
  const { signDeviceRequestToken } = await import('../shared/token.ts');
  const { DEVICE_AUTH_AUDIENCE, DEVICE_AUTH_SCHEME, API } = await import('../shared/api.ts');

  if ((SECONDS + WARMUP) * ROUNDS > 600) throw new Error('(DEVLIC_BENCH_SECONDS + DEVLIC_BENCH_WARMUP_SECONDS) x DEVLIC_BENCH_ROUNDS must stay under 600 s (device tokens live 15 minutes)');
  const cpuModel = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? '?';
  console.log(`devlic bench: entitlement polls (304 path), ${DEVICES} devices, ${CONNECTIONS} connections x pipelining ${PIPELINING}, warm-up ${WARMUP} s, measure ${SECONDS} s, ${ROUNDS} round(s)`);
  console.log(`machine: ${cpus().length} CPUs, ${cpuModel}, node ${process.version}, pinning ${PIN ? 'server CPU 0, generator CPU 1 (taskset)' : 'off'}`);
  const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ');
  if (Number(load1) > 0.5) console.log(`note: load average ${load1} before start: other work on this machine will make the figures noisy`);

  // --- the real service, with real devices, once per backend (DEVLIC_BENCH_DATABASE, default both: bench/backend.ts)
  const { benchBackends, benchCluster, benchDatabase, stopBenchCluster } = await import('./backend.ts');
  const backends = benchBackends();
  if (CPU_PROF) {
    if (backends.length !== 1 || backends[0] !== 'sqlite') throw new Error('DEVLIC_BENCH_CPU_PROF=1 profiles the service on SQLite only: set DEVLIC_BENCH_DATABASE=sqlite');
    mkdirSync(PROF_DIR, { recursive: true });
  }
  const services: { backend: string; svc: Awaited<ReturnType<typeof startService>> | Awaited<ReturnType<typeof startServiceProfiled>>; targets: Target[]; dbPids: () => number[] }[] = [];
  let svcWindow: { measuredAt: number; seconds: number } | undefined;
  let bareWindow: { endGap: number; seconds: number } | undefined;
  let bareProfileSince = Date.now();
  try {
   for (const backend of backends) {
    const database = await benchDatabase(backend);
    const svc = CPU_PROF
      ? await startServiceProfiled(tempDir, PROF_DIR)
      : await startService({ config: { enrollPerMinute: 1_000_000 }, database });
    const clusterDir = database ? (await benchCluster()).dir : undefined;
    const entry = { backend, svc, targets: [] as Target[], dbPids: () => (clusterDir ? postgresPids(clusterDir) : []) };
    services.push(entry);
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
    const targets = entry.targets;
    let licensed = 0;
    for (const d of devices) {
      const first = await d.entitlement();
      if (first.status !== 200 || !first.etag) throw new Error(`first entitlement of ${d.deviceId}: ${first.status}`);
      if (JSON.parse(Buffer.from(first.body.token.split('.')[1], 'base64url').toString()).status === 'licensed') licensed++;
      // One request token per device for the whole run (the service caches its verification, as with a real agent).
      const jwt = await signDeviceRequestToken(d.privateKey, d.deviceId, DEVICE_AUTH_AUDIENCE, now, 900);
      targets.push({ path: API.entitlement, headers: { authorization: `${DEVICE_AUTH_SCHEME} ${jwt}`, 'if-none-match': first.etag } });
    }
    if (licensed !== DEVICES) throw new Error(`only ${licensed} of ${DEVICES} devices are licensed`);
   }
    const { svc, targets } = services[0];
    // --- the service's actual 304, byte for byte; the bare server sends the same header lines
    const svcHead = await rawHead(svc.port, targets[0].path, targets[0].headers);
    for (const other of services.slice(1)) {
      const head = await rawHead(other.svc.port, other.targets[0].path, other.targets[0].headers);
      const names = (h: string) => parseHead(h).headers.map(([k]) => k.toLowerCase()).sort().join(',');
      if (parseHead(head).status !== 304 || names(head) !== names(svcHead)) throw new Error(`the ${other.backend} service's 304 differs from the ${services[0].backend} one's:\n${head}`);
    }
    const parsed = parseHead(svcHead);
    if (parsed.status !== 304) throw new Error(`expected a 304 from the service, got:\n${svcHead}`);
    const auto = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
    const keepAlive = parsed.headers.find(([k]) => k.toLowerCase() === 'keep-alive')?.[1];
    const spec = {
      status: 304,
      headers: parsed.headers.filter(([k]) => !auto.has(k.toLowerCase())),
      keepAliveTimeoutMs: keepAlive ? Number(/timeout=(\d+)/.exec(keepAlive)?.[1] ?? 5) * 1000 : 5000,
    };
    const probe = await startBare(spec);
    const bareHead = await rawHead(probe.port, targets[0].path, targets[0].headers);
    await probe.stop();
    console.log(`\nservice 304: ${Buffer.byteLength(svcHead, 'latin1')} bytes, no body; bare 304: ${Buffer.byteLength(bareHead, 'latin1')} bytes, no body. The service's answer:`);
    console.log(svcHead.trimEnd().split('\r\n').map((l) => `  | ${l}`).join('\n'));
    const cl = Number(parsed.headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1] ?? 0);
    if (cl > 0) {
      console.log(`WARNING: the 304 carries content-length: ${cl}. undici (the agent's HTTP client) then does not reuse the connection:`
        + '\n  every poll opens a new TCP (in production TLS) connection. Fix in service/http/device-routes.ts: .code(304).send() instead of .send(null).');
    }

    // --- measure: the same generator against each server in turn (bare first), ROUNDS times
    const cfg = (url: string): GenConfig => ({
      url, targets, connections: CONNECTIONS, pipelining: PIPELINING, warmupMs: WARMUP * 1000, durationMs: SECONDS * 1000,
    });
    const bareRuns: Measured[] = [];
    const svcRuns: Measured[][] = services.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      const bare = await startBare(spec);
      bareProfileSince = Date.now();
      const b = await generate(cfg(`http://127.0.0.1:${bare.port}`), bare.proc.pid!);
      const bareStoppedAt = await bare.stop();
      bareWindow = { endGap: (bareStoppedAt - b.measuredAt) / 1000, seconds: b.seconds };
      bareRuns.push(b);
      for (const [k, sv] of services.entries()) {
        svcRuns[k].push(await generate({ ...cfg(sv.svc.url), targets: sv.targets }, sv.svc.proc.pid!, sv.dbPids));
      }
    }
    svcWindow = { measuredAt: svcRuns[0].at(-1)!.measuredAt, seconds: svcRuns[0].at(-1)!.seconds };

    const rows: [string, Measured][] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const tag = ROUNDS > 1 ? ` #${i + 1}` : '';
      rows.push([`bare node:http (304)${tag}`, bareRuns[i]]);
      for (const [k, sv] of services.entries()) rows.push([`devlic-server ${sv.backend} (304)${tag}`, svcRuns[k][i]]);
    }
    report(rows);
    for (const r of svcRuns.flat()) {
      const other = Object.entries(r.statuses).filter(([s]) => s !== '304');
      if (other.length || r.errors) {
        console.log(`\nWARNING: the service answered something other than 304: ${JSON.stringify(r.statuses)}, errors ${r.errors}`);
        process.exitCode = 1;
      }
    }
    const perCpu = (r: Measured) => rps(r) / r.serverCpu;
    // With the database's own CPU (PostgreSQL's processes) counted as the service's: what the poll costs the site.
    const perAllCpu = (r: Measured) => rps(r) / (r.serverCpu + r.dbCpu);
    for (const [k, sv] of services.entries()) {
      const runs = svcRuns[k];
      const ratio = median(runs.map(rps)) / median(bareRuns.map(rps));
      const cpuRatio = median(runs.map(perCpu)) / median(bareRuns.map(perCpu));
      const allRatio = median(runs.map(perAllCpu)) / median(bareRuns.map(perCpu));
      console.log(`\n${sv.backend}: service / bare, requests per second:       ${(ratio * 100).toFixed(1)} %${ROUNDS > 1 ? ' (medians)' : ''}`);
      if (!Number.isNaN(cpuRatio)) console.log(`${sv.backend}: service / bare, requests per server CPU-s:  ${(cpuRatio * 100).toFixed(1)} %  (aim >= 50 %)`);
      if (!Number.isNaN(allRatio)) console.log(`${sv.backend}: the same with the database's CPU added:   ${(allRatio * 100).toFixed(1)} %  (database CPU during the window: ${(median(runs.map((r) => r.dbCpu)) * 100).toFixed(1)} % of a core)`);
      console.log(`${sv.backend}: service CPU per poll: ${(1e6 / median(runs.map(perCpu))).toFixed(0)} us; bare: ${(1e6 / median(bareRuns.map(perCpu))).toFixed(0)} us`);
    }
    const reconnects = svcRuns.flat().reduce((n, r) => n + r.connects, 0);
    if (reconnects > 0) console.log(`WARNING: ${reconnects} new connections during the service's measured windows: keep-alive is not holding.`);
    if (median(bareRuns.map((r) => r.serverCpu)) < 0.8) {
      console.log('note: the bare server did not use its whole core, so the generator limited it; the per-CPU-second ratio is the fairer one.');
    }
  } finally {
    const stoppedAt = performance.now();
    for (const { svc } of services) {
      await svc.stop();
      rmSync(dirname(svc.dataDir), { recursive: true, force: true });
    }
    await stopBenchCluster();
    if (CPU_PROF) {
      const latest = (dir: string, since = 0) => (existsSync(dir) ? readdirSync(dir) : []).filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(dir, f)).filter((f) => statSync(f).mtimeMs >= since).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).at(-1);
      const svcProf = latest(PROF_DIR);
      const bareProf = latest(join(PROF_DIR, 'bare'), bareProfileSince);
      console.log(`\nCPU profiles (open in Chrome DevTools > Performance): service ${svcProf ?? '(none)'}, bare ${bareProf ?? '(none)'}`);
      if (bareProf && bareWindow) summariseProfile('bare node:http', bareProf, bareWindow.endGap, bareWindow.seconds);
      if (svcProf && svcWindow) summariseProfile('devlic-server', svcProf, (stoppedAt - svcWindow.measuredAt) / 1000, svcWindow.seconds);
    }
  }
}

function report(rows: [string, GenResult & { serverCpu: number; dbCpu: number }][]): void {
  const header = ['server', 'requests/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'server CPU', 'req per CPU-s', 'db CPU', 'new conns', 'non-304', 'errors'];
  const lines = rows.map(([name, r]) => {
    const rps = r.requests / r.seconds;
    const non304 = Object.entries(r.statuses).filter(([s]) => s !== '304').reduce((n, [, c]) => n + c, 0);
    return [name, rps.toFixed(0), r.p50.toFixed(2), r.p90.toFixed(2), r.p99.toFixed(2), r.max.toFixed(1),
      Number.isNaN(r.serverCpu) ? 'n/a' : `${(r.serverCpu * 100).toFixed(0)} %`, Number.isNaN(r.serverCpu) ? 'n/a' : (rps / r.serverCpu).toFixed(0),
      `${(r.dbCpu * 100).toFixed(1)} %`, String(r.connects), String(non304), String(r.errors)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(fmt).join('\n')}`);
}

if (role === 'bare') runBare();
else if (role === 'gen') await runGenerator();
else await main();
