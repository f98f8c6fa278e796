// What the agent's HTTP client costs in memory, variant by variant (issue 18):
// each variant runs in a fresh pinned-Node process that makes one keep-alive
// GET to a local node:http server, keeps the connection open, lets the heap
// settle, and reports its RSS and V8's figures. Same run, interleaved rounds,
// medians; the baseline is a process that does nothing.
//
//   node bench/undici-cost.ts [--rounds 3]
//
// Variants: node:http (Node's built-in llhttp, no WASM), undici loaded but
// unused, and one request through an undici Agent (connections: 4, as the
// agent had), a Pool, a single Client, and a Client with the non-SIMD WASM
// parser (UNDICI_NO_WASM_SIMD=1); and the agent's way since issue 18: a Pool
// and the request API imported by module, without undici's index. For
// scale, two of the built-ins undici's client module loads (http2 for
// HTTP/2 over ALPN, which brings tls), alone.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { NODE, ROOT } from '../test/helpers/processes.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
const rounds = Number(values.rounds ?? 3);

const server = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const url = `http://127.0.0.1:${port}/x`;

// The child's code, per variant: do the request, keep the socket, report.
const report = `
const v8 = require('v8');
const done = () => setTimeout(() => {
  globalThis.gc();
  const m = process.memoryUsage();
  const rss = Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
  process.stdout.write(JSON.stringify({ rss, heap: m.heapUsed, ext: m.external, ab: m.arrayBuffers, code: v8.getHeapCodeStatistics().code_and_metadata_size }));
  process.exit(0);
}, 300);`;
const undici = `const u = require(${JSON.stringify(`${ROOT}/node_modules/undici`)});`;
const get = (dispatcher: string) => `${undici} const d = ${dispatcher}; u.request(${JSON.stringify(url)}, { dispatcher: d }).then(r => r.body.text()).then(done);`;
const variants: Array<{ name: string; code: string; env?: NodeJS.ProcessEnv }> = [
  { name: 'bare node (baseline)', code: 'done();' },
  { name: 'node:http GET (built-in llhttp)', code: `require('http').get(${JSON.stringify(url)}, { agent: new (require('http').Agent)({ keepAlive: true }) }, (r) => { r.resume(); r.on('end', done); });` },
  { name: 'undici loaded, no request', code: `${undici} done();` },
  { name: 'undici Agent (connections 4)', code: get(`new u.Agent({ connections: 4, keepAliveTimeout: 30000 })`) },
  { name: 'undici Pool (connections 1)', code: get(`new u.Pool(${JSON.stringify(`http://127.0.0.1:${port}`)}, { connections: 1, keepAliveTimeout: 30000 })`) },
  { name: 'undici Client', code: get(`new u.Client(${JSON.stringify(`http://127.0.0.1:${port}`)}, { keepAliveTimeout: 30000 })`) },
  { name: 'undici Pool by module (the agent)', code: `const Pool = require(${JSON.stringify(`${ROOT}/node_modules/undici/lib/dispatcher/pool.js`)}); const req = require(${JSON.stringify(`${ROOT}/node_modules/undici/lib/api/api-request.js`)}); const p = new Pool(${JSON.stringify(`http://127.0.0.1:${port}`)}, { connections: 4, keepAliveTimeout: 30000 }); req.call(p, { origin: ${JSON.stringify(`http://127.0.0.1:${port}`)}, path: '/x', method: 'GET' }).then(r => r.body.text()).then(done);` },
  { name: 'node:http2 built-in loaded', code: `require('http2'); done();` },
  { name: 'node:tls built-in loaded', code: `require('tls'); done();` },
  { name: 'undici Client, WASM without SIMD', code: get(`new u.Client(${JSON.stringify(`http://127.0.0.1:${port}`)}, { keepAliveTimeout: 30000 })`), env: { UNDICI_NO_WASM_SIMD: '1' } },
];

const results = new Map<string, Array<Record<string, number>>>();
for (let r = 0; r < rounds; r++) {
  for (const v of variants) {
    // Asynchronously: the server answering the child runs in this process.
    const out = await new Promise<string>((resolve, reject) => {
      execFile(NODE, ['--expose-gc', '-e', `${report}\n${v.code}`], { env: { ...process.env, ...v.env } }, (e, so) => (e ? reject(e) : resolve(so)));
    });
    const list = results.get(v.name) ?? [];
    list.push(JSON.parse(out));
    results.set(v.name, list);
  }
}
server.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (b: number) => (b / 1048576).toFixed(1).padStart(7);
const base = median(results.get(variants[0]!.name)!.map((x) => x.rss!));
console.log(`${rounds} rounds, medians; RSS from /proc/self/status after one GET, heap settled (gc)`);
console.log(`${'variant'.padEnd(34)} ${'RSS MB'.padStart(7)} ${'+bare'.padStart(7)} ${'heapUsed'.padStart(8)} ${'external'.padStart(8)} ${'code'.padStart(7)}`);
for (const v of variants) {
  const xs = results.get(v.name)!;
  const rss = median(xs.map((x) => x.rss!));
  console.log(`${v.name.padEnd(34)} ${mb(rss * 1024)} ${mb((rss - base) * 1024)} ${mb(median(xs.map((x) => x.heap!))).padStart(8)} ${mb(median(xs.map((x) => x.ext!))).padStart(8)} ${mb(median(xs.map((x) => x.code!)))}`);
}
