// The device API through a real devlic-server process: enrollment rules,
// device authentication, the signed entitlement (verified with a standard
// JOSE library against the published JWKS), ETag/304, long-poll wake-up,
// status reports in the fleet view, enrollment rate limiting, and a restart
// that keeps data and keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactVerify, createLocalJWKSet } from 'jose';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { DEVICE_AUTH_AUDIENCE } from '../../shared/api.ts';
import { publicJwk, signDeviceRequestToken } from '../../shared/token.ts';
import { signEnrollProof } from '../../shared/device-proofs.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
let svc: ServiceProcess;
let admin: AdminClient;
let token: string;

beforeAll(async () => {
  svc = await startService({ config: { enrollPerMinute: 30 } });
  admin = adminClient(svc.url, svc.adminToken);
  await admin.ok('POST', '/groups', { name: 'Laptops' });
  token = (await admin.ok('POST', '/enroll-tokens', { uses: 20, group: 'Laptops' })).token;
  await admin.ok('POST', '/subscriptions', { product: SKU, seats: 50, name: 'EA' });
});
afterAll(async () => { await svc?.stop(); });

describe('enrollment', () => {
  it('enrolls a device into the token\'s group and returns the signing keys', async () => {
    const d = new SimDevice(svc.url, fakeFacts('laptop-01'));
    const r = await d.enroll(token);
    expect(r.status).toBe(201);
    expect(r.body.deviceId).toMatch(/^dev_/);
    expect(r.body.keys.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(r.body.reenrolled).toBe(false);
    const v = await admin.ok('GET', `/devices/${d.deviceId}`);
    expect(v.groups.map((g: any) => g.name)).toEqual(['Laptops']);
    expect(v.facts.serial).toBe('SN-laptop-01');
  });

  it('never hands over a device for matching hardware facts: a new device, flagged duplicateOf, and the old key keeps working', async () => {
    const facts = fakeFacts('laptop-02');
    const a = new SimDevice(svc.url, facts);
    await a.enroll(token);
    const aAuth = await a.authHeader();
    expect((await a.entitlement()).status).toBe(200);
    const b = new SimDevice(svc.url, facts);
    const r = await b.enroll(token);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ reenrolled: false, duplicateOf: a.deviceId });
    expect(b.deviceId).not.toBe(a.deviceId);
    expect((await b.entitlement()).status).toBe(200);
    expect((await a.entitlement({ authorization: aAuth })).status).toBe(200);
    expect((await admin.ok('GET', `/devices/${b.deviceId}`)).duplicateOf).toEqual({ id: a.deviceId, name: 'laptop-02' });
  });

  it('keeps the device id when the device proves its current key, and the old key stops working', async () => {
    const a = new SimDevice(svc.url, fakeFacts('laptop-03'));
    await a.enroll(token);
    const b = new SimDevice(svc.url, a.facts);
    const proof = await signEnrollProof(a.privateKey, a.deviceId, await publicJwk(b.publicKey), Math.floor(Date.now() / 1000));
    const r = await b.enroll(token, { proof });
    expect(r.body).toMatchObject({ reenrolled: true, deviceId: a.deviceId });
    expect((await b.entitlement()).status).toBe(200);
    expect((await a.entitlement()).status).toBe(401);
  });

  it('treats the same machine id with a different hardware UUID as a different device (no merging)', async () => {
    const facts = fakeFacts('vm-clone');
    const a = new SimDevice(svc.url, facts);
    const b = new SimDevice(svc.url, { ...facts, hardwareUuid: 'ffffffffffffffffffffffffffffffff' });
    await a.enroll(token);
    await b.enroll(token);
    expect(a.deviceId).not.toBe(b.deviceId);
  });

  it('refuses unknown, used-up and expired enrollment tokens and bad bodies, creating no device', async () => {
    const before = (await admin.ok('GET', '/devices?limit=1000')).total;
    const d = new SimDevice(svc.url, fakeFacts('intruder'));
    const unknown = await d.enroll('dle_notarealtoken');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('ENROLL_TOKEN_INVALID');
    const once = (await admin.ok('POST', '/enroll-tokens', { uses: 1 })).token;
    expect((await new SimDevice(svc.url, fakeFacts('one')).enroll(once)).status).toBe(201);
    const used = await new SimDevice(svc.url, fakeFacts('two')).enroll(once);
    expect(used.status).toBe(401);
    expect(used.body.error.message).toMatch(/no uses left/);
    const bad = await fetch(`${svc.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, facts: { hostname: 'x' }, publicKey: {} }) });
    expect(bad.status).toBe(400);
    const badKey = await fetch(`${svc.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, facts: fakeFacts('k'), publicKey: { kty: 'RSA', n: 'x', e: 'AQAB' } }) });
    expect(badKey.status).toBe(400);
    const huge = await fetch(`${svc.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, facts: fakeFacts('big', { model: 'x'.repeat(40_000) }), publicKey: {} }) });
    expect(huge.status).toBe(413);
    expect((await admin.ok('GET', '/devices?limit=1000')).total).toBe(before + 1);
  });
});

describe('entitlement', () => {
  let dev: SimDevice;
  let other: SimDevice;
  beforeAll(async () => {
    dev = new SimDevice(svc.url, fakeFacts('tablet-01'));
    other = new SimDevice(svc.url, fakeFacts('tablet-02'));
    await dev.enroll(token);
    await other.enroll(token);
  });

  it('answers only the device itself: no header, a bare device id, or another device\'s key get 401', async () => {
    expect((await dev.entitlement({ authorization: '' })).status).toBe(401);
    expect((await dev.entitlement({ authorization: `DevlicDevice ${dev.deviceId}` })).status).toBe(401);
    expect((await dev.entitlement({ authorization: `Bearer ${svc.adminToken}` })).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const forged = await signDeviceRequestToken(other.privateKey, dev.deviceId, DEVICE_AUTH_AUDIENCE, now);
    const r = await dev.entitlement({ authorization: `DevlicDevice ${forged}` });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('UNAUTHENTICATED');
    const wrongAud = await signDeviceRequestToken(dev.privateKey, dev.deviceId, 'something-else', now);
    expect((await dev.entitlement({ authorization: `DevlicDevice ${wrongAud}` })).status).toBe(401);
    const expired = await signDeviceRequestToken(dev.privateKey, dev.deviceId, DEVICE_AUTH_AUDIENCE, now - 3600);
    expect((await dev.entitlement({ authorization: `DevlicDevice ${expired}` })).status).toBe(401);
  });

  it('signs a compact EdDSA JWS that a standard JOSE library verifies with the JWKS, with the documented claims', async () => {
    const r = await dev.entitlement();
    expect(r.status).toBe(200);
    expect(r.etag).toBe(`"${r.body.seq}"`);
    const jwks = await (await fetch(`${svc.url}/.well-known/jwks.json`)).json() as any;
    const { payload, protectedHeader } = await compactVerify(r.body.token, createLocalJWKSet(jwks));
    expect(protectedHeader.alg).toBe('EdDSA');
    const c = JSON.parse(new TextDecoder().decode(payload));
    expect(c).toMatchObject({ sub: dev.deviceId, aud: 'devlic-agent', status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', seq: r.body.seq });
    expect(c.iss).toBe(dev.enrollment!.issuer);
    expect(c.exp - c.iat).toBe(90 * 86400);
    expect(c.exp - c.warnAt).toBe(10 * 86400);
    for (const k of ['nbf', 'refreshAfter', 'product', 'subscription', 'group']) expect(c).toHaveProperty(k);
  });

  it('answers 304 for a current ETag and 200 with a higher seq after a change', async () => {
    const first = await dev.entitlement();
    const again = await dev.entitlement({ etag: first.etag! });
    expect(again.status).toBe(304);
    await admin.ok('POST', '/licenses/assign', { subscription: 'EA', group: 'Laptops' });
    const changed = await dev.entitlement({ etag: first.etag! });
    expect(changed.status).toBe(200);
    const c = claimsOf(changed.body.token);
    expect(c.seq).toBeGreaterThan(claimsOf(first.body.token).seq);
    expect(c).toMatchObject({ status: 'licensed', reason: 'ASSIGNED', product: SKU, productName: 'Microsoft 365 Apps for enterprise (device)' });
  });

  it('holds a long-poll and answers within a second of an unassign, then of an assign', async () => {
    for (const action of ['unassign', 'assign'] as const) {
      const cur = await dev.entitlement();
      const started = Date.now();
      const poll = dev.entitlement({ etag: cur.etag!, wait: 30 });
      await new Promise((r) => setTimeout(r, 300));
      const changedAt = Date.now();
      await admin.ok('POST', `/licenses/${action}`, { subscription: 'EA', group: 'Laptops', confirm: true });
      const r = await poll;
      const latency = Date.now() - changedAt;
      expect(r.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(latency).toBeLessThan(1000);
      expect(claimsOf(r.body.token).status).toBe(action === 'assign' ? 'licensed' : 'unlicensed');
    }
  });

  it('answers 304 when the wait runs out with no change, and refuses waits over the limit', async () => {
    const cur = await dev.entitlement();
    const t0 = Date.now();
    const r = await dev.entitlement({ etag: cur.etag!, wait: 1 });
    expect(r.status).toBe(304);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect((await dev.entitlement({ etag: cur.etag!, wait: 100000 })).status).toBe(400);
  });

  it('keeps the status report as the device\'s last-seen state in the fleet view', async () => {
    const report = { mode: 'full', reason: 'ASSIGNED', users: [{ name: 'pupil7', mode: 'full' }], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: new Date(Date.now() + 86400_000).toISOString(), entitlementSeq: 3 };
    expect(await dev.report(report)).toBe(204);
    const v = await admin.ok('GET', `/devices/${dev.deviceId}`);
    expect(v.lastMode).toBe('full');
    expect(v.users).toEqual([{ name: 'pupil7', mode: 'full' }]);
    expect(v.agentVersion).toBe('0.1.0');
    expect(Date.parse(v.lastSeenAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(v.reports[0].mode).toBe('full');
    expect(await dev.report({ ...report, mode: 'super' })).toBe(400);
    expect(await dev.report({ ...report, users: Array.from({ length: 300 }, (_, i) => ({ name: `u${i}`, mode: 'full' })) })).toBe(400);
    expect((await admin.ok('GET', `/devices/${dev.deviceId}`)).reports.length).toBe(1);
  });

  it('counts requests, waiting long-polls and devices by state in /metrics', async () => {
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    expect(text).toMatch(/devlic_http_requests_total\{method="GET",route="\/v1\/device\/entitlement",status="304"\} \d+/);
    expect(text).toMatch(/devlic_http_request_duration_seconds_bucket/);
    expect(text).toMatch(/devlic_longpolls_waiting 0/);
    expect(text).toMatch(/devlic_devices\{status="licensed",reason="ASSIGNED",mode="full"\} 1/);
  });

  it('counts devices by enforcement in /metrics, as the fleet filter does', async () => {
    const gauge = async () => {
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      return Object.fromEntries(['ok', 'failing', 'unknown'].map((s) => [s, Number(text.match(new RegExp(`devlic_devices_enforcement\\{state="${s}"\\} (\\d+)`))?.[1])]));
    };
    const before = await gauge();
    expect(before.failing).toBe(0); // the series exists at 0
    const report = { mode: 'read-only', reason: 'ASSIGNED', users: [], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: 3 };
    expect(await dev.report({ ...report, enforcement: [{ enforcer: 'file', ok: true }, { enforcer: 'libreoffice', ok: false, reason: 'too old' }] })).toBe(204);
    const after = await gauge();
    expect(after.failing).toBe(1);
    expect(after.failing).toBe((await admin.ok('GET', '/devices?enforced=false')).total);
    expect(after.ok + after.failing + after.unknown).toBe(before.ok + before.failing + before.unknown);
    expect(await dev.report({ ...report, enforcement: [{ enforcer: 'file', ok: true }] })).toBe(204);
    expect((await gauge()).failing).toBe(0);
  });
});

describe('rate limiting and restart', () => {
  it('limits enrollment attempts per address with 429 and Retry-After', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const r = await fetch(`${svc.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'dle_wrongwrong', facts: fakeFacts('spam'), publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }) });
      if (r.status === 429) limited = r; else await r.arrayBuffer();
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited!.json()) as any).error.code).toBe('RATE_LIMITED');
  });

  it('keeps data, keys and tokens across a restart (and a kill -9)', async () => {
    const d = new SimDevice(svc.url, fakeFacts('survivor'));
    const t2 = (await admin.ok('POST', '/enroll-tokens', { uses: 1, group: 'Laptops' })).token;
    // The rate limit above is per minute; the limiter is in memory, so a restart resets it.
    await svc.kill9();
    svc = await startService({ dataDir: svc.dataDir, port: svc.port, config: { enrollPerMinute: 30 } });
    expect((await d.enroll(t2)).status).toBe(201);
    const before = await d.entitlement();
    const jwksBefore = await (await fetch(`${svc.url}/.well-known/jwks.json`)).json();
    const devicesBefore = await admin.ok('GET', '/devices?limit=1000');
    const auditBefore = await admin.ok('GET', '/audit?limit=1000');
    await svc.stop();
    svc = await startService({ dataDir: svc.dataDir, port: svc.port });
    expect(await (await fetch(`${svc.url}/.well-known/jwks.json`)).json()).toEqual(jwksBefore);
    const { payload } = await compactVerify(before.body.token, createLocalJWKSet(jwksBefore as any));
    expect(JSON.parse(new TextDecoder().decode(payload)).sub).toBe(d.deviceId);
    expect(await admin.ok('GET', '/devices?limit=1000')).toEqual(devicesBefore);
    expect((await admin.ok('GET', '/audit?limit=1000')).items).toEqual(auditBefore.items);
    expect((await d.entitlement({ etag: before.etag! })).status).toBe(304);
  });
});
