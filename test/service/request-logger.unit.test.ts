// Request loggers made on first use (service/http/request-logger.ts): no
// child logger is made for a request that writes nothing, and a line that is
// written carries the request's bindings exactly as pino's own child would.
import { expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { lazyRequestLogger } from '../../service/http/request-logger.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  const log = pino({ level, base: undefined, timestamp: false }, stream);
  let children = 0;
  // Counted on the root only: pino's children inherit their parent's properties, so `this` decides who is the parent.
  const child = log.child;
  log.child = function (this: typeof log, b: Record<string, unknown>, o?: object) { children++; return child.call(this, b, o as never); } as typeof log.child;
  return { log, lines, children: () => children };
}
const flush = () => new Promise((r) => setImmediate(r));

it('makes no child for lines below the level, and the same line as pino\'s child above it', async () => {
  const c = capture('info');
  const req = lazyRequestLogger(c.log as unknown as FastifyBaseLogger, { reqId: 'req-7' }, {});
  req.debug('not written');
  req.trace({ a: 1 }, 'nor this');
  expect(c.children()).toBe(0);
  expect(req.level).toBe('info');
  req.info({ deviceId: 'dev_1' }, 'device enrolled');
  req.error({ code: 'X' }, 'request failed');
  await flush();
  expect(c.children()).toBe(1);
  expect(c.lines).toEqual([
    { level: 30, reqId: 'req-7', deviceId: 'dev_1', msg: 'device enrolled' },
    { level: 50, reqId: 'req-7', code: 'X', msg: 'request failed' },
  ]);
  // What pino's own child writes for the same call.
  const direct = capture('info');
  direct.log.child({ reqId: 'req-7' }).info({ deviceId: 'dev_1' }, 'device enrolled');
  await flush();
  expect(direct.lines[0]).toEqual(c.lines[0]);
});

it('honours a route\'s own level (the child\'s options), and children of its own', async () => {
  const c = capture('info');
  const req = lazyRequestLogger(c.log as unknown as FastifyBaseLogger, { reqId: 'r1' }, { level: 'debug' });
  expect(req.level).toBe('debug');
  req.debug('route debug');
  req.child({ part: 'x' }).warn('nested');
  await flush();
  expect(c.lines).toEqual([{ level: 20, reqId: 'r1', msg: 'route debug' }, { level: 40, reqId: 'r1', part: 'x', msg: 'nested' }]);
  const quiet = lazyRequestLogger(c.log as unknown as FastifyBaseLogger, { reqId: 'r2' }, {});
  quiet.level = 'silent';
  quiet.error('dropped');
  await flush();
  expect(c.lines).toHaveLength(2);
});
