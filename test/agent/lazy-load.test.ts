// Issue 18: `--version`, `status` and `logs` load only what they need, so they
// start fast and small on every device. agent/main.ts imports each command
// when it is chosen; these runs of the real program check that the HTTP client
// (undici), the logger (pino) and the token library (jose, where not needed)
// stay unloaded: from source (a loader hook lists the npm packages loaded) and
// from the esbuild bundle the single executable runs (there, the Node
// built-ins undici and pino require - http, tls, http2, zlib, worker_threads -
// must not be loaded). The daemon is checked the other way round: it does load
// pino's worker_threads, so the checks can see a built-in when it is there.
// Since issue 18 part 7 the bundle's undici loads http, http2 and tls only
// when it connects (installer/build/lazy-builtins.ts), so `run --help`, which
// connects nowhere, must not load them either
// (test/installer/lazy-builtins.test.ts runs the daemon against a service).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../installer/build/bundle.ts';
import { NODE, ROOT, tempDir } from '../helpers/processes.ts';
import { openDb } from '../../agent/store/db.ts';

const dir = tempDir('lazy-load');
const config = join(dir, 'agent.json');
writeFileSync(config, '{}');
// An agent database (not enrolled), so `logs` gets as far as reading events.
mkdirSync(join(dir, 'data'), { mode: 0o700 });
openDb(join(dir, 'data', 'agent.db')).close();
const common = ['--data-dir', join(dir, 'data'), '--config', config];
// The bundle looks for the SQLite addon beside the Node binary running it,
// where there is none: there it runs against a data folder without a database.
const noDb = ['--data-dir', join(dir, 'no-db'), '--config', config];

interface Case { name: string; args: string[]; status: number; output: RegExp }
// Each case also says what proves the command itself ran.
const COMMANDS = (opts: string[], hasDb: boolean): Case[] => [
  { name: '--version', args: ['--version'], status: 0, output: /^\d+\.\d+\.\d+/ },
  { name: 'status', args: ['status', '--json', ...opts], status: 1 /* not enrolled */, output: /"enrolled": false/ },
  hasDb
    ? { name: 'logs', args: ['logs', ...opts], status: 0, output: /^$/ }
    : { name: 'logs', args: ['logs', ...opts], status: 1, output: /no agent database/ },
];
// `run --help` loads the daemon's modules and stops.
const DAEMON: Case = { name: 'run --help', args: ['run', '--help'], status: 0, output: /^Usage: devlic-agent run/ };

function traced(node: string[], c: Case, marker: string): string[] {
  const r = spawnSync(NODE, [...node, ...c.args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  expect(r.status, r.stderr).toBe(c.status);
  const line = r.stderr.split('\n').find((l) => l.startsWith(`${marker} `));
  expect(line, r.stderr).toBeDefined();
  expect(r.stdout + r.stderr.replace(line!, '').trim()).toMatch(c.output);
  return JSON.parse(line!.slice(marker.length + 1)) as string[];
}

describe('agent commands load only what they need (issue 18)', () => {
  const fromSource = (c: Case) => traced(['--import', join(ROOT, 'test/agent/helpers/trace-packages.ts'), join(ROOT, 'agent/main.ts')], c, 'PACKAGES');

  it('from source: --version loads no npm package; status and logs neither undici nor pino; logs not jose', () => {
    const daemon = fromSource(DAEMON);
    expect(daemon).toEqual(expect.arrayContaining(['undici', 'pino', 'jose']));
    const [version, status, logs] = COMMANDS(common, true).map(fromSource);
    expect(version).toEqual([]);
    for (const p of [status, logs]) {
      expect(p).toContain('better-sqlite3'); // they did run: they read the database
      expect(p).not.toContain('undici');
      expect(p).not.toContain('pino');
    }
    expect(logs).not.toContain('jose');
  });

  describe('from the bundle the single executable runs', () => {
    let bundled = '';
    beforeAll(async () => {
      bundled = join(tempDir('lazy-load-bundle'), 'agent.cjs');
      const r = await bundle({ repo: ROOT, entry: relative(ROOT, join(ROOT, 'installer/agent-entry.ts')), outfile: bundled });
      expect(r.dynamicImports).toBe(0);
    }, 120_000);
    const NETWORK = ['http', 'tls', 'http2', 'zlib', 'worker_threads'];
    const fromBundle = (c: Case) => traced(['-r', join(ROOT, 'test/agent/helpers/trace-builtins.cjs'), bundled], c, 'BUILTINS');

    it('the daemon loads the logger (so the check below can see it), and the HTTP client without its connection built-ins', () => {
      // zlib only came with undici's index (fetch's decompression), which the
      // daemon no longer loads (agent/sync/client.ts): it is not a control.
      // http, http2 and tls come with undici's first connection (lazy-builtins.ts).
      const loaded = fromBundle(DAEMON);
      expect(loaded).toContain('worker_threads');
      for (const m of ['http', 'http2', 'tls', 'zlib', 'assert']) expect(loaded, m).not.toContain(m);
    });

    it.each(COMMANDS(noDb, false))('$name loads none of their Node built-ins', (c) => {
      const loaded = fromBundle(c);
      for (const m of NETWORK) expect(loaded, m).not.toContain(m);
    });
  });
});
