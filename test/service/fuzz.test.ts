// A seeded fuzz test: thousands of malformed requests against the device and
// admin endpoints of a real devlic-server. Every one must be refused with a
// 4xx and the `{error: {code, message}}` body; none may crash the service or
// change anything an admin can see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { mulberry32 } from '../helpers/prng.ts';

const SEED = Number(process.env.DEVLIC_FUZZ_SEED ?? 20261125);
const COUNT = Number(process.env.DEVLIC_FUZZ_COUNT ?? 3000);


let svc: ServiceProcess;
let admin: AdminClient;
let device: SimDevice;

beforeAll(async () => {
  svc = await startService({ config: { enrollPerMinute: 100000 } });
  admin = adminClient(svc.url, svc.adminToken);
  await admin.ok('POST', '/groups', { name: 'Fuzz group' });
  await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 3, name: 'Fuzz EA' });
  const tok = await admin.ok('POST', '/enroll-tokens', { uses: 1, group: 'Fuzz group' });
  device = new SimDevice(svc.url, fakeFacts('fuzz-target'));
  await device.enroll(tok.token);
});
afterAll(async () => { await svc?.stop(); });

async function snapshot() {
  const paths = ['/subscriptions', '/groups', '/licenses', '/devices?limit=1000', '/enroll-tokens', '/admins', '/audit?limit=1000'];
  return Promise.all(paths.map((p) => admin.ok('GET', p)));
}

describe('fuzzing the HTTP API', () => {
  it(`refuses ${COUNT} malformed requests (seed ${SEED}) without a 5xx or any change`, async () => {
    const rnd = mulberry32(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const spec = await (await fetch(`${svc.url}/openapi.json`)).json() as any;
    const writes: [string, string][] = [];
    for (const [path, ops] of Object.entries<any>(spec.paths)) {
      for (const m of Object.keys(ops)) if (m !== 'get') writes.push([m.toUpperCase(), path.replace('{ref}', pick(['Fuzz group', 'Fuzz EA', device.deviceId, '..%2F..', 'x'.repeat(200), '%00']))]);
    }
    const junkValues = [null, true, -1, 1e308, 'x'.repeat(5000), '', '\u0000', '<script>', [], [1, 'a'], {}, { $ne: 1 }, 'DROP TABLE devices', 3.5, '2026-13-45T99:99:99Z'];
    const fields = ['product', 'seats', 'name', 'termEnd', 'group', 'subscription', 'devices', 'role', 'uses', 'token', 'facts', 'publicKey', 'mode', 'users', 'disabled', 'status', 'parent'];
    const randomBody = () => {
      const body: Record<string, unknown> = {};
      const n = Math.floor(rnd() * 5);
      for (let i = 0; i < n; i++) body[pick(fields)] = pick(junkValues);
      body[`__fuzz${Math.floor(rnd() * 1000)}`] = pick(junkValues); // admin schemas forbid unknown fields; the device ones tolerate them but miss required fields here
      return body;
    };
    const garbageText = () => pick(['{', '{"a":', '[1,2', 'null', '"str"', '{"name": "x"}}', '\u00ff\u00fe', '{"__proto__": {"x": 1}, "q": 1}', 'x'.repeat(100)]);
    const authHeaders = () => pick([
      undefined, '', 'DevlicDevice', 'DevlicDevice a.b.c', `DevlicDevice ${device.deviceId}`, 'DevlicDevice eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      `Bearer ${svc.adminToken}`, 'Bearer ', 'Basic YWRtaW46YWRtaW4=', `DevlicDevice ${'A'.repeat(3000)}.${'B'.repeat(10)}.C`,
    ]);
    const before = await snapshot();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const one = async () => {
      const kind = Math.floor(rnd() * 6);
      let method = 'GET', url = svc.url, body: string | undefined;
      const headers: Record<string, string> = {};
      if (kind <= 1) {
        const [m, p] = pick(writes);
        method = m; url += p;
        headers['content-type'] = pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']);
        body = kind === 0 ? JSON.stringify(randomBody()) : garbageText();
        if (p.startsWith('/v1/admin')) headers.authorization = `Bearer ${svc.adminToken}`;
        else { const a = authHeaders(); if (a) headers.authorization = a; }
      } else if (kind === 2) {
        url += pick(['/v1/admin/devices', '/v1/admin/audit', '/v1/admin/groups']) + pick(['?limit=-1', '?limit=abc', '?offset=-5', '?x=1', '?licensed=maybe', '?reason=NOPE', '?limit=1000000', '?before=0']);
        headers.authorization = `Bearer ${svc.adminToken}`;
      } else if (kind === 3) {
        url += `/v1/device/entitlement${pick(['', '?wait=-1', '?wait=abc', '?wait=99999', '?other=1'])}`;
        const a = authHeaders(); if (a) headers.authorization = a;
        if (rnd() < 0.5) headers['if-none-match'] = pick(['"1"', '*', 'garbage', '"999999999999999999999"']);
      } else if (kind === 4) {
        method = 'POST'; url += '/v1/enroll'; headers['content-type'] = 'application/json';
        const b: any = rnd() < 0.5 ? { token: pick(['dle_x', '', 'x'.repeat(300)]), facts: fakeFacts('fz'), publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } } : randomBody();
        if (rnd() < 0.5 && b.facts && typeof b.facts === 'object') b.facts[pick(Object.keys(b.facts))] = pick(junkValues);
        body = rnd() < 0.2 ? garbageText() : JSON.stringify(b);
      } else {
        method = pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
        url += pick(['/', '/v1', '/v1/admin', '/v1/admin/../device/status', '/.well-known/../../etc/passwd', '/v1/admin/devices/%ff', '/%00', '/v1/device/status']);
        headers.authorization = `Bearer ${svc.adminToken}`;
        if (method !== 'GET') { headers['content-type'] = 'application/json'; body = JSON.stringify(randomBody()); }
      }
      try {
        const r = await fetch(url, { method, headers, body: method === 'GET' ? undefined : body });
        const text = await r.text();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status >= 500) failures.push(`${method} ${url} -> ${r.status} ${text.slice(0, 200)}`);
        else if (r.status >= 400 && method !== 'HEAD') {
          const parsed = JSON.parse(text);
          if (typeof parsed?.error?.code !== 'string' || typeof parsed?.error?.message !== 'string') failures.push(`${method} ${url}: bad error body ${text.slice(0, 100)}`);
        } else if (r.status < 400 && !(method === 'GET' || method === 'OPTIONS')) {
          failures.push(`${method} ${url} was accepted (${r.status}) with body ${String(body).slice(0, 200)}`);
        }
      } catch (e) {
        failures.push(`${method} ${url}: ${(e as Error).message}`);
      }
    };
    for (let i = 0; i < COUNT; i += 8) await Promise.all(Array.from({ length: Math.min(8, COUNT - i) }, one));
    expect(failures.slice(0, 10)).toEqual([]);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    expect(await snapshot()).toEqual(before);
    const refused = [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    expect(refused).toBeGreaterThan(COUNT * 0.9);
  }, 120_000);
});
