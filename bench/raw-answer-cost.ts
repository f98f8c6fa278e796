// What writing a long-poll's 200 answer costs through Fastify's send against
// writing it raw (service/http/raw-answer.ts), the rest of the request the
// same: a Fastify server (in a child process) answers each GET with the
// woken long-poll's headers and a 600-byte body one way or the other, and
// keep-alive clients in this process send REQUESTS requests over CONNECTIONS
// connections. Printed: the server's CPU per request (user + system, all its
// threads), rounds alternated so neither always runs second.
// Run: node_modules/.bin/node bench/raw-answer-cost.ts
//   DEVLIC_BENCH_REQUESTS=20000, DEVLIC_BENCH_CONNECTIONS=50, DEVLIC_BENCH_ROUNDS=4
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';

const REQUESTS = Number(process.env.DEVLIC_BENCH_REQUESTS ?? 20_000);
const CONNECTIONS = Number(process.env.DEVLIC_BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 4);

if (process.argv[2] === 'server') {
  const { default: Fastify } = await import('fastify');
  const { writeRaw } = await import('../service/http/raw-answer.ts');
  const raw = process.argv[3] === 'raw';
  const app = Fastify({ logger: false });
  const body = `{"token":"${'x'.repeat(580)}","seq":7}`;
  app.get('/v1/device/entitlement', async (_req, reply) => {
    await Promise.resolve();
    if (raw) {
      writeRaw(reply, 200, { etag: '"7"', 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' }, body);
      return undefined;
    }
    reply.header('ETag', '"7"').header('Cache-Control', 'no-store').header('Content-Type', 'application/json; charset=utf-8').send(body);
    return undefined;
  });
  app.addHook('onResponse', (_req, _reply, done) => done());
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send!({ port: (app.server.address() as { port: number }).port });
  process.on('message', (m) => {
    if (m === 'cpu') { const u = process.cpuUsage(); process.send!({ cpu: u.user + u.system }); }
  });
} else {
  const rows = [];
  for (let r = 1; r <= ROUNDS; r++) {
    for (const mode of r % 2 ? ['fastify', 'raw'] : ['raw', 'fastify']) {
      const child = fork(import.meta.filename, ['server', mode], { stdio: 'inherit' });
      const port = await new Promise<number>((res) => child.once('message', (m: any) => res(m.port)));
      const cpu = () => new Promise<number>((res) => { child.once('message', (m: any) => res(m.cpu)); child.send('cpu'); });
      const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      const get = () => new Promise<void>((res, rej) => {
        request({ port, host: '127.0.0.1', path: '/v1/device/entitlement?wait=55', agent }, (resp) => { resp.resume(); resp.on('end', res); }).on('error', rej).end();
      });
      const run = async (n: number) => {
        let left = n;
        await Promise.all(Array.from({ length: CONNECTIONS }, async () => { while (left-- > 0) await get(); }));
      };
      await run(2000); // warm-up: JIT, connections
      const c0 = await cpu();
      const t0 = performance.now();
      await run(REQUESTS);
      const ms = performance.now() - t0;
      const c1 = await cpu();
      agent.destroy();
      child.kill();
      const row = { round: r, mode, load: +loadavg()[0].toFixed(1), 'server CPU µs per request': +((c1 - c0) / REQUESTS).toFixed(1), 'requests per s': Math.round(REQUESTS / (ms / 1000)) };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }
  console.table(rows);
}
