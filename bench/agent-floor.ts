// Benchmark: the memory floor of issue 18's RSS aim. What do the design
// card's libraries cost an idle process, before any devlic code? Each level
// of bench/agent-floor-child.ts (bare; undici over HTTPS with h2, long-
// polling; + better-sqlite3 writing a row per answer; + pino, node-cron and
// jose verifying an EdDSA token per answer) runs as its own process of the
// pinned Node, side by side, for the same idle period, and the bench prints
// each one's RSS and its ratio to an empty process of the same Node (a
// one-line script that only waits: the aim's "bare Node process"). The
// child's own bare level loads the bundle without running any library: the
// cost of the script itself. The child is bundled and
// minified with esbuild with the release bundle's patches to third-party
// code (lazy built-ins, node-cron's local time), run with the agent's V8
// flags (`--no-opt --no-maglev`), its start-up GC and, except the bare
// process, the systemd unit's malloc tunables: as close to the agent's own
// conditions as a plain script gets (no SEA code cache; agent-idle.ts
// measures the real executable).
// The server is an HTTP/2 TLS server in this process (ALPN h2, as the
// shipped HAProxy offers) holding each request 55 s, then answering 304.
//
//   node bench/agent-floor.ts [--idle 180] [--levels empty,bare,tls,sqlite,libs]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureServer } from 'node:http2';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { AGENT_MALLOC_TUNABLES } from '../agent/runtime/v8-flags.ts';
import { patchThirdParty } from '../installer/build/bundle.ts';
import { NODE, ROOT, tempDir } from '../test/helpers/processes.ts';
import { makeTls } from '../test/helpers/tls-certs.ts';
import { printBreakdown } from './memory-map.ts';

const { values } = parseArgs({ options: { idle: { type: 'string', default: '180' }, levels: { type: 'string', default: 'empty,bare,tls,sqlite,libs' } } });
const idleS = Number(values.idle);
const levels = values.levels!.split(',');

/** The release bundle's patches to third-party code, so the floor loads what the agent's bundle loads. */
const releasePatches: Plugin = {
  name: 'floor-release-patches',
  setup(b) {
    b.onLoad({ filter: /\.(js|cjs|mjs)$/ }, async (args) => {
      const contents = patchThirdParty(await readFile(args.path, 'utf8'), args.path);
      return contents === undefined ? undefined : { contents, loader: 'js' };
    });
  },
};

// Under node_modules so that the one external (better-sqlite3, a native addon) resolves from the bundle.
const outDir = join(ROOT, 'node_modules', '.cache', 'devlic-bench');
mkdirSync(outDir, { recursive: true });
const childFile = join(outDir, 'agent-floor-child.mjs');
await build({
  entryPoints: [join(ROOT, 'bench', 'agent-floor-child.ts')], outfile: childFile, bundle: true, platform: 'node', format: 'esm',
  target: 'node24', minify: true, external: ['better-sqlite3'], plugins: [releasePatches], logLevel: 'warning',
  define: { esbuildDetection: 'true' },
  // CommonJS dependencies call require() for built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

const tls = makeTls('agent-floor');
let served = 0;
const server = createSecureServer({ key: readFileSync(tls.serverKey), cert: readFileSync(tls.serverCert), allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'] }, (req, res) => {
  served++;
  const t = setTimeout(() => { res.writeHead(304); res.end(); }, 55_000);
  req.on('close', () => clearTimeout(t));
});
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;

function rssKb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

const dirs: string[] = [];
const children = new Map<string, ChildProcess>();
for (const level of levels) {
  const dir = tempDir('agent-floor');
  dirs.push(dir);
  const env = { ...process.env, ...(level === 'empty' ? {} : { GLIBC_TUNABLES: AGENT_MALLOC_TUNABLES }) };
  const args = level === 'empty' ? ['-e', 'setInterval(() => {}, 1 << 30)'] : ['--no-opt', '--no-maglev', childFile, level, url, tls.caCert, dir];
  const child = spawn(NODE, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  children.set(level, child);
  child.on('exit', (code, sig) => { if (children.has(level)) console.error(`level ${level} exited early (${code ?? sig})`); });
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${levels.length} processes started ${new Date().toISOString()}, load ${load()}; idle ${idleS} s (the start-up GC runs at 60 s)`);
await new Promise((ok) => setTimeout(ok, idleS * 1000));

const rss = new Map([...children].map(([level, c]) => [level, rssKb(c.pid!)]));
const bare = rss.get('empty');
console.log(`\nafter ${idleS} s, load ${load()}; ${served} requests held or answered by the server`);
console.log(`${'level'.padEnd(8)} ${'RSS'.padStart(10)}  ratio to the empty process`);
for (const [level, kb] of rss) {
  console.log(`${level.padEnd(8)} ${(kb / 1024).toFixed(1).padStart(7)} MB  ${bare ? (kb / bare).toFixed(2) + 'x' : '-'}`);
}
if (bare) console.log(`the RSS aim (1.25x the empty process) is ${(bare * 1.25 / 1024).toFixed(1)} MB here`);
for (const [level, c] of children) {
  if (level === 'empty') continue;
  if (bare) printBreakdown({ label: level, pid: c.pid! }, { label: 'empty', pid: children.get('empty')!.pid! });
}

const all = [...children.values()];
children.clear();
for (const c of all) c.kill('SIGKILL');
server.close();
tls.remove();
for (const d of dirs) rmSync(d, { recursive: true, force: true });
process.exit(0);
