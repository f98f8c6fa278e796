// The shipped HAProxy config with the real haproxy in front of real
// devlic-server processes: HAProxy accepts the file and terminates TLS with
// its bind line; a device enrolls and
// long-polls through it, held past the 50 s timeouts of a stock HAProxy
// config and woken at once by an assign; a dead replica is marked DOWN by the
// /healthz check and traffic goes to the live one (and back once it returns);
// the service sees each client's own address through X-Forwarded-For when it
// trusts the proxy, and only the proxy's when it does not.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAPROXY_DEFAULTS } from '../../deploy/haproxy/render.ts';
import { adminClient } from '../helpers/admin.ts';
import { checkHaproxyConfig, haproxyMissing, replica, skipWithoutHaproxy, startHaproxy, type HaproxyProcess } from '../helpers/haproxy.ts';
import { startService, tempDir, type ServiceProcess } from '../helpers/processes.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';

const SHIPPED = join(import.meta.dirname, '..', '..', 'deploy', 'haproxy', 'devlic.cfg');
const skip = skipWithoutHaproxy('the HAProxy tests');
const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
/** Debian's stock /etc/haproxy/haproxy.cfg: timeout client 50000, timeout server 50000. */
const STOCK_TIMEOUT_MS = 50_000;
const ENROLL_PER_MINUTE = 3;

/** A self-signed certificate (valid for 127.0.0.1, where the tests reach HAProxy) and its key in one PEM, as HAProxy's `crt` wants it. */
function selfSignedPem(): string {
  const dir = tempDir('haproxy-tls');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=licensing.example.org',
    '-addext', 'subjectAltName=DNS:licensing.example.org,IP:127.0.0.1',
    '-days', '2', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr}`);
  const pem = join(dir, 'devlic.pem');
  writeFileSync(pem, readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'), { mode: 0o600 });
  return pem;
}

/** A POST /v1/enroll (bad token: refused, but counted by the per-address rate limit) from a chosen loopback address; its status. */
async function enrollFrom(port: number, localAddress: string, extraHeaders: Record<string, string> = {}): Promise<number> {
  const body = JSON.stringify({ token: 'dle_wrongwrong', facts: fakeFacts('probe'), publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } });
  const head = `POST /v1/enroll HTTP/1.1\r\nHost: licensing.example.org\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`
    + `${Object.entries(extraHeaders).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
  const r = rawRequest(port, head, { localAddress });
  const a = await r.answered;
  r.socket.destroy();
  if (a.status === 0) throw new Error(`no answer through HAProxy: ${a.error}`);
  return a.status;
}

describe.skipIf(skip)('HAProxy in front of devlic-server', () => {
  it.runIf(!!haproxyMissing)('haproxy is required here (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
    expect(haproxyMissing).toBeUndefined();
  });

  it('haproxy -c accepts the shipped deploy/haproxy/devlic.cfg (certificate path pointed at a real PEM), and refuses a broken one', () => {
    const shipped = readFileSync(SHIPPED, 'utf8');
    const pem = selfSignedPem();
    const text = shipped.replace(HAPROXY_DEFAULTS.tlsCertFile!, pem);
    expect(text).not.toBe(shipped);
    const ok = checkHaproxyConfig(text);
    expect(ok.output).toMatch(/Configuration file is valid/);
    expect(ok.code).toBe(0);
    // With replicas verified over TLS too.
    const withCa = checkHaproxyConfig(text.replace(/on-marked-down shutdown-sessions$/m, `on-marked-down shutdown-sessions ssl verify required ca-file ${pem}`));
    expect(withCa.code, withCa.output).toBe(0);
    const broken = checkHaproxyConfig(text.replace('timeout server 330s', 'timeout server banana'));
    expect(broken.code).not.toBe(0);
  });

  it('terminates TLS with the shipped bind line: a client trusting only that certificate reaches a plain-HTTP replica', async () => {
    const pem = selfSignedPem();
    const svc = await startService();
    const lb = await startHaproxy({ servers: [replica('tls', svc)], options: { tlsCertFile: pem } });
    try {
      expect(lb.config).toContain(`ssl crt ${pem} alpn h2,http/1.1`);
      expect(lb.url).toMatch(/^https:/);
      const get = (ca: string | undefined) => new Promise<{ status: number; proto: string; body: string }>((res, rej) => {
        const req = httpsGet(`${lb.url}/healthz`, { ca, agent: false }, (r) => {
          const proto = (r.socket as TLSSocket).getProtocol() ?? '';
          let body = '';
          r.on('data', (d) => { body += d; });
          r.on('end', () => res({ status: r.statusCode!, proto, body }));
        });
        req.on('error', rej);
      });
      const r = await get(readFileSync(pem, 'utf8'));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ ok: true });
      expect(r.proto).toMatch(/^TLSv1\.[23]$/);
      // Not trusted without that certificate: the one URL is only as good as its certificate.
      await expect(get(undefined)).rejects.toThrow(/self[- ]signed/i);
    } finally {
      await lb.stop();
      await svc.stop();
    }
  });

  describe('the service trusting the proxy (trustProxy: [127.0.0.1])', () => {
    let svc: ServiceProcess;
    let lb: HaproxyProcess;
    beforeAll(async () => {
      svc = await startService({ config: { trustProxy: ['127.0.0.1'], enrollPerMinute: ENROLL_PER_MINUTE } });
      lb = await startHaproxy({ servers: [replica('a', svc)] });
    });
    afterAll(async () => { await lb?.stop(); await svc?.stop(); });

    it('rate-limits each client by its own address, and ignores an X-Forwarded-For the client wrote', async () => {
      for (let i = 0; i < ENROLL_PER_MINUTE; i++) expect(await enrollFrom(lb.port, '127.0.0.2')).not.toBe(429);
      expect(await enrollFrom(lb.port, '127.0.0.2')).toBe(429);
      // Another client is its own address to the service, even when it claims to be the limited one.
      expect(await enrollFrom(lb.port, '127.0.0.3')).not.toBe(429);
      expect(await enrollFrom(lb.port, '127.0.0.3', { 'X-Forwarded-For': '127.0.0.2' })).not.toBe(429);
      // And the limited one cannot escape by claiming to be someone else.
      expect(await enrollFrom(lb.port, '127.0.0.2', { 'X-Forwarded-For': '127.0.0.9' })).toBe(429);
    });

    it('holds a long-poll past stock HAProxy timeouts and wakes it at once on an assign', async () => {
      const admin = adminClient(lb.url, svc.adminToken);
      await admin.ok('POST', '/groups', { name: 'Lab' });
      const token = (await admin.ok('POST', '/enroll-tokens', { uses: 1, group: 'Lab' })).token;
      await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'EA' });
      const dev = new SimDevice(lb.url, fakeFacts('behind-haproxy'));
      expect((await dev.enroll(token)).status).toBe(201);
      const cur = await dev.entitlement();
      expect(claimsOf(cur.body.token).status).toBe('unlicensed');

      let settledAt = 0;
      const started = Date.now();
      // Settles to the answer or the error (a stock config's 504 page is not JSON), never an unhandled rejection.
      const poll = dev.entitlement({ etag: cur.etag!, wait: 120 }).then((a) => a, (e: Error) => ({ status: 0, etag: null, body: String(e) }))
        .finally(() => { settledAt = Date.now(); });
      await expect.poll(async () => (await lb.server('a')).current, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      // The window under test: a stock config would answer 504 (or cut the socket) at 50 s.
      await new Promise((r) => setTimeout(r, STOCK_TIMEOUT_MS + 5_000 - (Date.now() - started)));
      expect(settledAt, 'the long-poll was answered before the assign').toBe(0);

      const assignedAt = Date.now();
      await admin.ok('POST', '/licenses/assign', { subscription: 'EA', group: 'Lab' });
      const r = await poll;
      expect(r.status).toBe(200);
      expect(claimsOf(r.body.token)).toMatchObject({ status: 'licensed', reason: 'ASSIGNED', product: SKU });
      expect(assignedAt - started).toBeGreaterThan(STOCK_TIMEOUT_MS);
      expect(settledAt - assignedAt).toBeLessThan(2_000);
    }, 120_000);
  });

  it('without trustProxy the service sees only the proxy: every client shares one rate limit', async () => {
    const svc = await startService({ config: { enrollPerMinute: ENROLL_PER_MINUTE } });
    const lb = await startHaproxy({ servers: [replica('b', svc)] });
    try {
      for (let i = 0; i < ENROLL_PER_MINUTE; i++) expect(await enrollFrom(lb.port, '127.0.0.2')).not.toBe(429);
      expect(await enrollFrom(lb.port, '127.0.0.3')).toBe(429);
    } finally {
      await lb.stop();
      await svc.stop();
    }
  });

  describe('health checks and failover', () => {
    let live: ServiceProcess;
    let doomed: ServiceProcess;
    let lb: HaproxyProcess;
    beforeAll(async () => {
      [live, doomed] = await Promise.all([startService(), startService()]);
      lb = await startHaproxy({ servers: [replica('live', live), replica('doomed', doomed)] });
    });
    afterAll(async () => { await lb?.stop(); await live?.stop(); await doomed?.stop(); });

    it('both replicas get traffic while up (leastconn), a killed one is marked DOWN by /healthz and no request fails', async () => {
      for (let i = 0; i < 8; i++) expect((await fetch(`${lb.url}/healthz`)).status).toBe(200);
      const before = Object.fromEntries((await lb.servers()).map((s) => [s.name, s.total]));
      expect(before.live).toBeGreaterThan(0);
      expect(before.doomed).toBeGreaterThan(0);

      await doomed.kill9();
      // Before and after the checks notice, a refused connection is retried on the live replica.
      for (let i = 0; i < 8; i++) expect((await fetch(`${lb.url}/.well-known/jwks.json`)).status).toBe(200);
      const down = await lb.waitForStatus('doomed', 'DOWN');
      expect(down.checkStatus).toBe('L4CON');

      const mid = Object.fromEntries((await lb.servers()).map((s) => [s.name, s.total]));
      for (let i = 0; i < 10; i++) expect((await fetch(`${lb.url}/healthz`)).status).toBe(200);
      const after = Object.fromEntries((await lb.servers()).map((s) => [s.name, s.total]));
      expect(after.live - mid.live).toBe(10);
      expect(after.doomed).toBe(mid.doomed);
    });

    it('takes a replica back once its /healthz answers again', async () => {
      doomed = await startService({ dataDir: doomed.dataDir, port: doomed.port });
      const up = await lb.waitForStatus('doomed', 'UP');
      expect(up.checkStatus).toBe('L7OK');
      const before = (await lb.server('doomed')).total;
      await expect.poll(async () => {
        await (await fetch(`${lb.url}/healthz`)).arrayBuffer();
        return (await lb.server('doomed')).total;
      }, { timeout: 10_000 }).toBeGreaterThan(before);
    });
  });
});
