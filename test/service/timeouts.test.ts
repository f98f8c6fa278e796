// Slow clients against a real devlic-server (issue 10, item 5): headers or a
// body trickled a byte at a time, a connection that sends nothing, and one
// that stops reading are closed once the configured time has passed,
// unauthenticated; a held long-poll longer than all those timeouts is not cut.
// The service runs with 2 s timeouts here; the defaults (30 s) are checked in
// connection-limits.unit.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { getHead, rawRequest, type RawRequest } from '../helpers/raw-http.ts';

const TIMEOUT_S = 2;
/** Generous: the timeout, Node's check interval and a busy machine. Without the fix these stay open for minutes. */
const CLOSED_WITHIN_MS = 15_000;

let svc: ServiceProcess;
beforeAll(async () => {
  svc = await startService({ config: { requestTimeoutSeconds: TIMEOUT_S, idleTimeoutSeconds: TIMEOUT_S, keepAliveTimeoutSeconds: TIMEOUT_S } });
});
afterAll(async () => { await svc?.stop(); });

/** Writes `text` one byte every `everyMs` until the socket closes; resolves with how long it stayed open. */
function trickle(r: RawRequest, text: string, everyMs: number): Promise<number> {
  let i = 0;
  const t = setInterval(() => {
    if (r.socket.destroyed || i >= text.length) return;
    r.socket.write(text[i++]);
  }, everyMs);
  return r.closed.finally(() => clearInterval(t));
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what} still open after ${ms} ms`)), ms))]);
}

describe('slow requests are cut, unauthenticated', () => {
  it('trickled headers: closed (408) once the request timeout has passed', async () => {
    const r = rawRequest(svc.port, 'GET /healthz HTTP/1.1\r\n');
    const openMs = await within(trickle(r, `X-Slow: ${'a'.repeat(10_000)}\r\n\r\n`, 200), CLOSED_WITHIN_MS, 'trickled headers');
    expect(openMs).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 100);
    const a = await r.answered;
    expect([0, 408]).toContain(a.status);
  });

  it('a trickled body to /v1/enroll: closed once the request timeout has passed', async () => {
    const body = JSON.stringify({ token: 'dle_x'.repeat(20), pad: 'x'.repeat(500) });
    const r = rawRequest(svc.port, `POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const openMs = await within(trickle(r, body, 200), CLOSED_WITHIN_MS, 'trickled body');
    expect(openMs).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 100);
    expect([0, 408]).toContain((await r.answered).status);
  });

  it('a trickled admin body, even with a valid admin token, is cut too', async () => {
    const body = JSON.stringify({ name: 'slow group' });
    const r = rawRequest(svc.port, `POST /v1/admin/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${svc.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    await within(trickle(r, body, 500), CLOSED_WITHIN_MS, 'trickled admin body');
    const groups = await adminClient(svc.url, svc.adminToken).ok('GET', '/groups');
    expect(groups.items.map((g: any) => g.name)).not.toContain('slow group');
  });

  it('a connection that sends nothing is closed', async () => {
    const r = rawRequest(svc.port, '');
    const openMs = await within(r.closed, CLOSED_WITHIN_MS, 'silent connection');
    expect(openMs).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 100);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const r = rawRequest(svc.port, getHead('/healthz'));
    expect((await r.answered).status).toBe(200);
    await within(r.closed, CLOSED_WITHIN_MS, 'idle keep-alive connection');
  });
});

describe('long-polls are not cut by the timeouts', () => {
  it(`a wait of ${TIMEOUT_S * 3} s (3x every timeout) is held to its end and answered 304; the connection then serves another request`, async () => {
    const token = (await adminClient(svc.url, svc.adminToken).ok('POST', '/enroll-tokens', { uses: 1 })).token;
    const d = new SimDevice(svc.url, fakeFacts('patient'));
    await d.enroll(token);
    const { etag } = await d.entitlement();
    const started = performance.now();
    const r = rawRequest(svc.port, getHead(`/v1/device/entitlement?wait=${TIMEOUT_S * 3}`, { Authorization: await d.authHeader(), 'If-None-Match': etag! }));
    const a = await r.answered;
    expect(a.status).toBe(304);
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_S * 3 * 1000 - 100);
    expect(r.socket.destroyed).toBe(false);
    // Same socket, next request: the long-poll's raised idle timeout did not stick.
    const next = new Promise<string>((res) => r.socket.once('data', (x) => res(String(x))));
    r.socket.write(getHead('/healthz'));
    expect(await next).toMatch(/^HTTP\/1\.1 200/);
    await within(r.closed, CLOSED_WITHIN_MS, 'keep-alive after the long-poll');
  });
});
