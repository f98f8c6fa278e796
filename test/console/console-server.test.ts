// The server side of the admin console, without a browser: the static files
// (content types, CSP, no way out of the console folder), the event stream
// (admin-authenticated with the Bearer header only, pushes device ids when a
// device reports or an entitlement changes) and the fleet filters the console
// adds to GET /v1/admin/devices (group, mode, staleMinutes).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleReasonsModule } from '../../service/http/console-reasons.ts';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { openEventStream, type EventStream } from '../helpers/admin-events.ts';

let svc: ServiceProcess;
let admin: AdminClient;

/** A raw GET that sends the path exactly as written (fetch would normalise `..`). */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, any>; body: string }> {
  return new Promise((res, rej) => {
    const r = request({ host: '127.0.0.1', port: svc.port, path, headers }, (resp) => {
      let body = '';
      resp.setEncoding('utf8');
      resp.on('data', (d) => { body += d; });
      resp.on('end', () => res({ status: resp.statusCode!, headers: resp.headers, body }));
    });
    r.on('error', rej);
    r.end();
  });
}

/** An event stream open for one test: `use` runs with it, the stream is closed after. */
async function withEvents(token: string, use: (s: EventStream) => Promise<void>): Promise<void> {
  const s = await openEventStream(svc.url, token);
  try {
    expect(s.contentType).toContain('text/event-stream');
    await use(s);
  } finally {
    s.close();
  }
}

const report = (mode: 'full' | 'read-only') => ({
  mode, reason: mode === 'full' ? 'ASSIGNED' : 'NOT_IN_LICENSED_GROUP', users: [{ name: 'anna', mode }],
  agentVersion: '0.1.0-test', lastError: null, cacheExpiresAt: null, entitlementSeq: null,
});

let dev: SimDevice;
let other: SimDevice;

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  await admin.ok('POST', '/groups', { name: 'Events lab' });
  const t = await admin.ok('POST', '/enroll-tokens', { uses: 1, group: 'Events lab' });
  dev = new SimDevice(svc.url, fakeFacts('events-1'));
  expect((await dev.enroll(t.token)).status).toBe(201);
  const t2 = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
  other = new SimDevice(svc.url, fakeFacts('loner-1'));
  expect((await other.enroll(t2.token)).status).toBe(201);
});
afterAll(async () => { await svc?.stop(); });

describe('console files', () => {
  it('serves the page at / with a strict Content-Security-Policy and the right types', async () => {
    const page = await rawGet('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(page.headers['content-security-policy']).toContain("require-trusted-types-for 'script'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script type="module" src="/console/js/app.js">');
    const js = await rawGet('/console/js/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await rawGet('/console/console.css')).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('serves the reason labels generated from shared/reasons.ts as js/reasons.js', async () => {
    const r = await rawGet('/console/js/reasons.js');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(r.body).toBe(consoleReasonsModule());
    expect(r.body).toContain('"SEATS_EXHAUSTED":{"mode":"read-only","label":"No seat left"');
  });

  it('serves nothing outside the console folder, however the path is spelled', async () => {
    for (const p of ['/console/../http/app.ts', '/console/..%2fhttp%2fapp.ts', '/console/%2e%2e/%2e%2e/package.json', '/console/js/../../server.ts',
      '/console/..\\http\\app.ts', '/console/%2fetc%2fpasswd', '/console//etc/passwd', '/console/js/app.js%00.css', '/console/nope.js']) {
      const r = await rawGet(p);
      expect([400, 404], p).toContain(r.status);
      expect(r.body, p).not.toMatch(/import |root:/);
    }
  });
});

describe('security headers on the API', () => {
  /** A raw request with a body, for the refusals fetch cannot send (or would rewrite). */
  // A server that refuses an oversized body may close the socket while the client is still
  // writing it (EPIPE/ECONNRESET before the answer is read): that race is retried, nothing else.
  async function rawSend(method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Record<string, any> }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await rawSendOnce(method, path, headers, body);
      } catch (e) {
        if (attempt >= 5 || !['EPIPE', 'ECONNRESET'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
    }
  }
  function rawSendOnce(method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Record<string, any> }> {
    return new Promise((res, rej) => {
      const r = request({ host: '127.0.0.1', port: svc.port, method, path, headers }, (resp) => {
        resp.resume();
        resp.on('end', () => res({ status: resp.statusCode!, headers: resp.headers }));
      });
      r.on('error', rej);
      r.end(body);
    });
  }
  const lockedDown = (h: Record<string, any>, what: string) => {
    expect(h['content-security-policy'] ?? '(none)', what).toMatch(/^default-src 'none';.*frame-ancestors 'none'.*sandbox/);
    expect(h['x-content-type-options'], what).toBe('nosniff');
    expect(h['referrer-policy'], what).toBe('no-referrer');
    expect(h['cross-origin-resource-policy'], what).toBe('same-origin');
  };

  it('every admin answer and refusal carries a policy under which a browser runs and loads nothing', async () => {
    const auth = { authorization: `Bearer ${svc.adminToken}` };
    const answers: [string, { status: number; headers: Record<string, any> }][] = [
      ['200 admin list', await rawGet('/v1/admin/devices', auth)],
      ['401 no token', await rawGet('/v1/admin/devices')],
      ['404 echoing markup', await rawGet('/v1/admin/%3Cimg%20src=x%20onerror=alert(1)%3E', auth)],
      ['400 bad percent-encoding', await rawGet('/v1/admin/%E0%A4%A', auth)],
      ['400 invalid body', await rawSend('POST', '/v1/admin/groups', { ...auth, 'content-type': 'application/json' }, '{"name":""}')],
      ['415 text body', await rawSend('POST', '/v1/admin/groups', { ...auth, 'content-type': 'text/plain' }, 'x')],
      ['413 large body', await rawSend('POST', '/v1/admin/groups', { ...auth, 'content-type': 'application/json' }, JSON.stringify({ name: 'x'.repeat(2_000_000) }))],
      ['healthz', await rawGet('/healthz')],
      ['openapi', await rawGet('/openapi.json')],
    ];
    for (const [what, r] of answers) lockedDown(r.headers, what);
    expect(answers.map(([what, r]) => [what, r.status])).toEqual([
      ['200 admin list', 200], ['401 no token', 401], ['404 echoing markup', 404], ['400 bad percent-encoding', 400], ['400 invalid body', 400],
      ['415 text body', 415], ['413 large body', 413], ['healthz', 200], ['openapi', 200],
    ]);
  });

  it('the console keeps its own policy (Trusted Types), and the device protocol its lean answers', async () => {
    const page = await rawGet('/');
    expect(page.headers['content-security-policy']).toContain("trusted-types 'none'");
    expect(page.headers['content-security-policy']).not.toContain("default-src 'none'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin');
    // Agents, not browsers, read these: the hot 304 path stays as it was.
    const e = await dev.entitlement();
    expect(e.status).toBe(200);
    const poll = await rawGet('/v1/device/entitlement', { authorization: await dev.authHeader(), 'if-none-match': e.etag! });
    expect(poll.status).toBe(304);
    expect(poll.headers['content-security-policy']).toBeUndefined();
  });
});

describe('event stream', () => {
  it('refuses a missing or wrong token, and a token in the URL', async () => {
    expect((await rawGet('/v1/admin/events')).status).toBe(401);
    expect((await rawGet('/v1/admin/events', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await rawGet(`/v1/admin/events?token=${encodeURIComponent(svc.adminToken)}`)).status).toBe(401);
  });

  it('tells a reader which device reported', async () => {
    const reader = await admin.ok('POST', '/admins', { role: 'reader', name: 'events reader' });
    await withEvents(reader.token, async (events) => {
      expect(await dev.report(report('read-only'))).toBe(204);
      await events.next('devices', (x) => x.reported.includes(dev.deviceId) && x.all === false);
    });
  });

  it('tells which devices changed entitlement when a subscription is assigned', async () => {
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 3, name: 'Events EA' });
    await withEvents(svc.adminToken, async (events) => {
      await admin.ok('POST', '/licenses/assign', { subscription: 'Events EA', group: 'Events lab' });
      const { data } = await events.next('devices', (x) => x.changed.includes(dev.deviceId));
      expect(data.changed).not.toContain(other.deviceId);
    });
  });
});

describe('fleet filters', () => {
  it('filters by group (direct members), last reported mode and staleness', async () => {
    const byGroup = await admin.ok('GET', '/devices?group=Events%20lab');
    expect(byGroup.items.map((d: any) => d.id)).toEqual([dev.deviceId]);
    expect(byGroup.total).toBe(1);
    expect((await admin.get('/devices?group=no-such-group')).status).toBe(404);

    expect(await dev.report(report('full'))).toBe(204);
    const full = await admin.ok('GET', '/devices?mode=full');
    expect(full.items.map((d: any) => d.id)).toEqual([dev.deviceId]);
    expect((await admin.ok('GET', '/devices?mode=read-only')).total).toBe(0);
    expect((await admin.get('/devices?mode=sideways')).status).toBe(400);

    // Both were seen (enrolled or reported) just now: nothing is stale for 15 minutes.
    expect((await admin.ok('GET', '/devices?staleMinutes=15')).total).toBe(0);
    expect((await admin.get('/devices?staleMinutes=0')).status).toBe(400);
    expect((await admin.get('/devices?staleMinutes=abc')).status).toBe(400);
  });
});

describe('shutdown', () => {
  it('ends open event streams so that the service stops promptly', async () => {
    const r = await fetch(`${svc.url}/v1/admin/events`, { headers: { authorization: `Bearer ${svc.adminToken}` } });
    const reader = r.body!.getReader();
    await reader.read(); // the hello event: the stream is open
    const started = Date.now();
    await svc.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    // The stream ended (or the socket closed) rather than hanging.
    await reader.read().then(() => undefined, () => undefined);
    expect(svc.proc.exitCode ?? svc.proc.signalCode).not.toBeNull();
  });
});
