// A held long-poll's answer is written straight to Node's response
// (service/http/raw-answer.ts) instead of through Fastify's send: the client
// must not be able to tell. Two services run side by side, one writing raw
// (the default) and one with DEVLIC_LONGPOLL_ANSWER=fastify, and the same
// story is played on both: a wait woken by an assign (200 with the token),
// a wait that times out (304), a wait replaced by newer ones of the same
// device (304, connection closed). The answers' bytes must be the same but
// for the Date header and the token itself (signed by each service's own
// key); the connection must stay usable after a woken answer; the request
// counter must count the same answers. Runs on SQLite and on PostgreSQL
// (the integration and integration-pg projects).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { getHead, metric } from '../helpers/raw-http.ts';
import { rawExchange, withoutDate, type RawExchange } from '../helpers/raw-exchange.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
let raw: ServiceProcess;
let viaFastify: ServiceProcess;
const open: RawExchange[] = [];

beforeAll(async () => {
  [raw, viaFastify] = await Promise.all([startService(), startService({ env: { DEVLIC_LONGPOLL_ANSWER: 'fastify' } })]);
});
afterAll(async () => {
  for (const x of open) x.socket.destroy();
  await Promise.all([raw?.stop(), viaFastify?.stop()]);
});

function exchange(svc: ServiceProcess): RawExchange {
  const x = rawExchange(svc.port);
  open.push(x);
  return x;
}

async function device(svc: ServiceProcess, name: string, group: string): Promise<{ d: SimDevice; etag: string }> {
  const admin = adminClient(svc.url, svc.adminToken);
  const token = (await admin.ok('POST', '/enroll-tokens', { uses: 1, group })).token;
  const d = new SimDevice(svc.url, fakeFacts(name));
  expect((await d.enroll(token)).status).toBe(201);
  return { d, etag: (await d.entitlement()).etag! };
}

async function longPollHead(d: SimDevice, etag: string, wait: number): Promise<string> {
  return getHead(`/v1/device/entitlement?wait=${wait}`, { Authorization: await d.authHeader(), 'If-None-Match': etag });
}

const held = (svc: ServiceProcess) => metric(svc.url, 'devlic_longpolls_waiting');

/** The token in a 200's body replaced: each service signs with its own key (and its own device ids). */
function withoutToken(answer: string): string {
  return answer.replace(/"token":"[^"]+"/, '"token":"(token)"');
}

/** A wait woken by an assign, then a plain conditional request on the same connection. */
async function woken(svc: ServiceProcess): Promise<{ answer: string; token: string; next: string }> {
  const admin = adminClient(svc.url, svc.adminToken);
  await admin.ok('POST', '/groups', { name: 'Woken' });
  await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'Woken EA' });
  const { d, etag } = await device(svc, 'woken-1', 'Woken');
  const x = exchange(svc);
  const answered = x.request(await longPollHead(d, etag, 60));
  await waitFor('the wait held', async () => (await held(svc)) === 1, 15_000);
  await admin.ok('POST', '/licenses/assign', { subscription: 'Woken EA', group: 'Woken' });
  const answer = await answered;
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  // The connection is kept: the next request on it (the new ETag, no wait) is answered 304.
  const next = await x.request(getHead('/v1/device/entitlement', { Authorization: await d.authHeader(), 'If-None-Match': `"${body.seq}"` }));
  return { answer, token: body.token, next };
}

describe('a held long-poll\'s answer, raw or through Fastify', () => {
  it('woken by a change: the same 200 (status, headers, their order, Content-Length, body), the connection kept', async () => {
    const [a, b] = await Promise.all([woken(raw), woken(viaFastify)]);
    expect(a.answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(withoutToken(withoutDate(a.answer))).toBe(withoutToken(withoutDate(b.answer)));
    // Content-Length is the body's: the byte comparison above would pass with two equal wrong ones.
    for (const { answer } of [a, b]) {
      const [head, body] = answer.split('\r\n\r\n');
      expect(Number(head.match(/\r\ncontent-length: (\d+)/)![1])).toBe(Buffer.byteLength(body));
      expect(head).toMatch(/\r\netag: "\d+"/);
      expect(head).toMatch(/\r\ncache-control: no-store/);
      expect(head).toMatch(/\r\ncontent-type: application\/json; charset=utf-8/);
      expect(head).toMatch(/\r\nConnection: keep-alive/);
    }
    expect(claimsOf(a.token).status).toBe('licensed');
    expect(claimsOf(b.token).status).toBe('licensed');
    expect(a.next).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(withoutDate(a.next)).toBe(withoutDate(b.next));
  });

  it('timed out: the same 304, no body, the connection kept', async () => {
    const answers = await Promise.all([raw, viaFastify].map(async (svc) => {
      const admin = adminClient(svc.url, svc.adminToken);
      await admin.ok('POST', '/groups', { name: 'Timed' });
      const { d, etag } = await device(svc, 'timed-1', 'Timed');
      const x = exchange(svc);
      const answer = await x.request(await longPollHead(d, etag, 1));
      const again = await x.request(await longPollHead(d, etag, 1));
      return { answer, again };
    }));
    expect(answers[0].answer).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(answers[0].answer).not.toMatch(/content-length/i);
    expect(withoutDate(answers[0].answer)).toBe(withoutDate(answers[1].answer));
    expect(withoutDate(answers[0].again)).toBe(withoutDate(answers[1].again));
  });

  it('replaced by newer waits of the same device: the same 304 with Connection: close, and the socket closed', async () => {
    const answers = await Promise.all([raw, viaFastify].map(async (svc) => {
      const admin = adminClient(svc.url, svc.adminToken);
      await admin.ok('POST', '/groups', { name: 'Replaced' });
      const { d, etag } = await device(svc, 'replaced-1', 'Replaced');
      const before = await held(svc);
      const oldest = exchange(svc);
      const answer = oldest.request(await longPollHead(d, etag, 60));
      await waitFor('the first wait held', async () => (await held(svc)) === before + 1, 15_000);
      for (let i = 0; i < 2; i++) void exchange(svc).request(await longPollHead(d, etag, 60)).catch(() => {});
      const text = await answer;
      await oldest.closed;
      return text;
    }));
    expect(answers[0]).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(answers[0]).toMatch(/\r\nconnection: close\r\n/i);
    expect(withoutDate(answers[0])).toBe(withoutDate(answers[1]));
  });

  it('the request counter counts the raw answers as it counts Fastify\'s', async () => {
    const count = async (svc: ServiceProcess, status: number) => {
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('devlic_http_requests_total{') && l.includes('route="/v1/device/entitlement"') && l.includes(`status="${status}"`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    for (const status of [200, 304]) {
      const n = await count(raw, status);
      expect(n).toBeGreaterThan(0);
      expect(n).toBe(await count(viaFastify, status));
    }
  });
});
