// Transport safety: which server URLs are allowed, answer size and time
// limits, no redirects, Retry-After, and trusting only the given CA.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { checkServerUrl, HttpClient, isLoopbackHost, schemeMismatch, ServiceError } from '../../agent/sync/client.ts';
import { tempDir } from '../helpers/processes.ts';

describe('server URL rules', () => {
  it.each([
    'http://127.0.0.1:8470', 'http://127.9.9.9/', 'http://localhost:1', 'http://[::1]:8470', 'http://[::ffff:127.0.0.1]/',
    'https://devlic.example.org', 'https://10.0.0.5:8443/base/',
  ])('accepts %s', (u) => {
    expect(() => checkServerUrl(u, false)).not.toThrow();
  });

  it.each([
    ['http://devlic.example.org', /plain http/],
    ['http://10.0.0.5:8470', /plain http/],
    ['http://128.0.0.1', /plain http/],
    ['http://localhost.evil.example', /plain http/],
    ['http://[::2]/', /plain http/],
    ['ftp://127.0.0.1', /https/],
    ['https://user:pw@devlic.example.org', /user name or password/],
    ['https://devlic.example.org/?x=1', /query or fragment/],
    ['not a url', /not a valid URL/],
  ])('refuses %s', (u, msg) => {
    expect(() => checkServerUrl(u, false)).toThrow(msg);
  });

  it.each([
    ['https://devlic.example.org/v1', "'/v1'", 'https://devlic.example.org/'],
    ['https://devlic.example.org/v1/', "'/v1/'", 'https://devlic.example.org/'],
    ['http://127.0.0.1:8470/v1/enroll', "'/v1/enroll'", 'http://127.0.0.1:8470/'],
    ['https://proxy.example.org/devlic/v1', "'/v1'", 'https://proxy.example.org/devlic/'],
  ])('refuses %s (the API path), naming the base URL', (u, part, base) => {
    expect(() => checkServerUrl(u, false)).toThrow(`includes the API path ${part}`);
    try { checkServerUrl(u, false); } catch (e) { expect((e as { hint?: string }).hint).toContain(`give the service's base URL: ${base}`); }
  });

  it('names a scheme that does not match the server, and nothing else', () => {
    const https = new URL('https://10.0.0.5:8470/');
    const http = new URL('http://127.0.0.1:8470/');
    const ssl = Object.assign(new Error('write EPROTO 40:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), { code: 'EPROTO' });
    expect(schemeMismatch(https, ssl)).toBe('the server at https://10.0.0.5:8470 does not speak TLS (it answers plain HTTP); did you mean http://10.0.0.5:8470/?');
    expect(schemeMismatch(https, { code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'x' })).toMatch(/does not speak TLS/);
    expect(schemeMismatch(http, Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))).toMatch(/if it serves TLS, use https:\/\/127\.0\.0\.1:8470\//);
    expect(schemeMismatch(http, ssl)).toBeNull();
    expect(schemeMismatch(https, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeNull();
    expect(schemeMismatch(https, Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBeNull();
  });

  it('hints at TLS for a reset on http:// only until the server has answered once', async () => {
    let n = 0;
    const srv = createServer((req, res) => {
      if (n++ === 0) { res.end('{}'); return; }
      req.socket.destroy();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const fresh = new HttpClient({ server: url, allowInsecureHttp: false, timeoutMs: 5000, maxResponseBytes: 1024 });
      const resetFirst = createServer((req) => req.socket.destroy());
      await new Promise<void>((r) => resetFirst.listen(0, '127.0.0.1', r));
      const first = new HttpClient({ server: `http://127.0.0.1:${(resetFirst.address() as AddressInfo).port}`, allowInsecureHttp: false, timeoutMs: 5000, maxResponseBytes: 1024 });
      await expect(first.send('GET', '/x', {})).rejects.toThrow(/if it serves TLS, use https:/);
      await first.close();
      resetFirst.close();
      expect((await fresh.send('GET', '/x', {})).status).toBe(200);
      const err = await fresh.send('GET', '/x', {}).then(() => null, (e) => e as Error);
      expect(err?.message).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+: /);
      expect(err?.message).not.toMatch(/TLS/);
      await fresh.close();
    } finally {
      srv.close();
    }
  });

  it('asks again over the same connection when the next request follows an answer at once (the long-poll loop)', async () => {
    let connections = 0;
    // A held long-poll ending in a 304, as the service answers one.
    const srv = createServer((_req, res) => { setTimeout(() => { res.writeHead(304, { etag: '"1"' }); res.end(); }, 20); });
    srv.on('connection', () => { connections++; });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const c = new HttpClient({ server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, allowInsecureHttp: false, timeoutMs: 5000, maxResponseBytes: 1024 });
    try {
      // No timer or I/O between one answer and the next request: only awaits, as in the poll loop.
      for (let i = 0; i < 4; i++) expect((await c.send('GET', '/v1/device/entitlement?wait=1', { headers: { 'if-none-match': '"1"' }, holdMs: 1000 })).status).toBe(304);
      expect(connections).toBe(1);
    } finally {
      await c.close();
      srv.close();
    }
  });

  it('allows plain http to other hosts only with allowInsecureHttp', () => {
    expect(checkServerUrl('http://10.0.0.5:8470', true).href).toBe('http://10.0.0.5:8470/');
  });

  it('recognises loopback in its spellings', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('LOCALHOST')).toBe(true);
    expect(isLoopbackHost('localhost.')).toBe(true);
    expect(isLoopbackHost('192.168.1.1')).toBe(false);
    expect(isLoopbackHost('example.org')).toBe(false);
  });

  it('keeps a base path', () => {
    const c = new HttpClient({ server: 'http://127.0.0.1:1/devlic', allowInsecureHttp: false, timeoutMs: 1000, maxResponseBytes: 1024 });
    expect(c.url('/v1/enroll').href).toBe('http://127.0.0.1:1/devlic/v1/enroll');
    void c.close();
  });
});

describe('HttpClient against a local server', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ pad: 'x'.repeat(100_000) }));
      } else if (u.pathname === '/bigstream') {
        // No Content-Length: only counting the bytes as they come can catch it.
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 10; i++) res.write('x'.repeat(10_000));
        res.end();
      } else if (u.pathname === '/cut') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"token":"abc"');
        setTimeout(() => res.socket!.destroy(), 50);
      } else if (u.pathname === '/slow') {
        setTimeout(() => res.end('{}'), 2000);
      } else if (u.pathname === '/limited') {
        res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'slow down' } }));
      } else if (u.pathname === '/redirect') {
        res.writeHead(302, { location: 'http://example.org/' });
        res.end();
      } else if (u.pathname === '/notjson') {
        res.end('<html>');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const client = (over: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) =>
    new HttpClient({ server: base, allowInsecureHttp: false, timeoutMs: 500, maxResponseBytes: 64 * 1024, ...over });

  it('returns status, JSON and the Date header', async () => {
    const c = client();
    const a = await c.send('GET', '/ok');
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ ok: true });
    expect(Math.abs(a.serverDateMs! - Date.now())).toBeLessThan(5000);
    await c.close();
  });

  it('refuses answers over the size limit', async () => {
    const c = client();
    await expect(c.send('GET', '/big')).rejects.toMatchObject({ kind: 'protocol', code: 'BAD_RESPONSE', message: expect.stringMatching(/refused: larger than 65536 bytes/) });
    await expect(c.send('GET', '/bigstream')).rejects.toMatchObject({ kind: 'protocol', code: 'BAD_RESPONSE', message: expect.stringMatching(/refused: larger than 65536 bytes/) });
    await c.close();
  });

  it('says an answer was cut off, and how far it got', async () => {
    const c = client();
    await expect(c.send('GET', '/cut')).rejects.toMatchObject({ kind: 'network', code: 'INCOMPLETE_RESPONSE', message: expect.stringMatching(/was cut off after 14 of 100 bytes/) });
    await c.close();
  });

  it('times out a server that does not answer', async () => {
    const c = client({ timeoutMs: 300 });
    const t = Date.now();
    await expect(c.send('GET', '/slow')).rejects.toMatchObject({ kind: 'network' });
    expect(Date.now() - t).toBeLessThan(1800);
    await c.close();
  });

  it('extends the header timeout by the long-poll hold', async () => {
    const c = client({ timeoutMs: 300 });
    const a = await c.send('GET', '/slow', { holdMs: 3000 });
    expect(a.status).toBe(200);
    await c.close();
  });

  it('turns an error answer into a ServiceError with code and Retry-After', async () => {
    const c = client();
    const a = await c.send('GET', '/limited');
    const e = c.errorOf(a, Date.now());
    expect(e).toBeInstanceOf(ServiceError);
    expect(e).toMatchObject({ kind: 'http', status: 429, code: 'RATE_LIMITED', retryAfterMs: 7000 });
    await c.close();
  });

  it('does not follow redirects', async () => {
    const c = client();
    expect((await c.send('GET', '/redirect')).status).toBe(302);
    await c.close();
  });

  it('refuses a success answer that is not JSON', async () => {
    const c = client();
    await expect(c.send('GET', '/notjson')).rejects.toMatchObject({ kind: 'protocol' });
    await c.close();
  });

  it('reports an unreachable server as a network error', async () => {
    const c = new HttpClient({ server: 'http://127.0.0.1:1', allowInsecureHttp: false, timeoutMs: 500, maxResponseBytes: 1024 });
    await expect(c.send('GET', '/')).rejects.toMatchObject({ kind: 'network', code: 'UNREACHABLE' });
    await c.close();
  });
});

describe('CA file', () => {
  const dir = tempDir('ca');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  let base = '';
  let server: ReturnType<typeof createHttpsServer>;
  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    server = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, (_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('trusts the server when given its CA, and not otherwise', async () => {
    const trusting = new HttpClient({ server: base, caFile: cert, allowInsecureHttp: false, timeoutMs: 2000, maxResponseBytes: 1024 });
    expect((await trusting.send('GET', '/')).body).toEqual({ ok: true });
    await trusting.close();
    const plain = new HttpClient({ server: base, allowInsecureHttp: false, timeoutMs: 2000, maxResponseBytes: 1024 });
    await expect(plain.send('GET', '/')).rejects.toMatchObject({ kind: 'network' });
    await plain.close();
  });

  it('refuses a CA file that other users can write', () => {
    const loose = join(dir, 'loose.pem');
    execFileSync('cp', [cert, loose]);
    chmodSync(loose, 0o666);
    expect(() => new HttpClient({ server: base, caFile: loose, allowInsecureHttp: false, timeoutMs: 2000, maxResponseBytes: 1024 })).toThrow(/writable by other users/);
  });
});
