// The answer to a held long-poll, written straight to Node's response instead
// of through Fastify's reply pipeline. One assign wakes thousands of waits at
// once and each answer is the same few headers and a body already made;
// Fastify's send (content-type parsing, header bookkeeping, the onSend
// runner, the payload checks) was a sizeable share of the event loop's time
// per woken device (bench/wake-cost.ts).
//
// What the client receives is byte for byte what Fastify writes for the same
// reply (test/service/longpoll-answer.test.ts compares both, on both
// backends): the same lower-case header names in the same order, then
// content-length last when there is a body, and nothing for a 304. Node adds
// Date, Connection and Keep-Alive itself either way.
//
// Hooks: the reply is hijacked, so Fastify sends nothing more; its onResponse
// hooks (the request counter in app.ts) still run, because Fastify listens
// for the response's 'finish' before the handler runs and reads the status
// from the raw response. The device protocol's routes have no onSend hook
// (security-headers.ts leaves them bare; the rate limit is on enrollment
// only), so none is skipped. HEAD requests carry Fastify's own onSend hook
// and keep Fastify's path (`canWriteRaw`).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DevlicError } from '../../shared/errors.ts';

/**
 * DEVLIC_LONGPOLL_ANSWER: `raw` (the default) or `fastify`, which sends held
 * long-polls' answers through Fastify's send, only to compare the two (a
 * test and bench/wake-cost.ts). Anything else is refused at start, so a
 * misspelt value never quietly picks a path.
 */
export function rawLongPollAnswers(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.DEVLIC_LONGPOLL_ANSWER;
  if (v === undefined || v === '' || v === 'raw') return true;
  if (v === 'fastify') return false;
  throw new DevlicError('CONFIG_INVALID', `DEVLIC_LONGPOLL_ANSWER must be 'raw' or 'fastify' (got '${v}')`);
}

/** Whether an answer to this request may be written raw: GET only (HEAD has an onSend hook of Fastify's). */
export function canWriteRaw(req: FastifyRequest): boolean {
  return req.raw.method === 'GET';
}

/**
 * Writes `status` with `headers` (lower-case names, in the order Fastify
 * would have them) and `body`, if any, and ends the response.
 */
export function writeRaw(reply: FastifyReply, status: number, headers: Record<string, string>, body?: string): void {
  reply.hijack();
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const res = reply.raw;
  res.writeHead(status, headers);
  // end(body) writes the head and the body together, as Fastify's res.end(payload) does.
  if (body !== undefined) res.end(body);
  else res.end();
}
