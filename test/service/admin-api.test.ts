// The admin rules through the real HTTP API of a real devlic-server process
// on a real SQLite file: one subscription per group, unassign, seats running
// out, nesting, readers refused for every write, bad bodies refused with
// nothing changed, every change audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
let svc: ServiceProcess;
let admin: AdminClient;

async function enrollDevices(n: number, prefix: string): Promise<SimDevice[]> {
  const t = await admin.ok('POST', '/enroll-tokens', { uses: n });
  const out: SimDevice[] = [];
  for (let i = 0; i < n; i++) {
    const d = new SimDevice(svc.url, fakeFacts(`${prefix}-${i}`));
    expect((await d.enroll(t.token)).status).toBe(201);
    out.push(d);
  }
  return out;
}

/** Everything an admin can see, to prove a refused request changed nothing. */
async function snapshot() {
  const paths = ['/subscriptions', '/groups', '/licenses', '/devices?limit=1000', '/enroll-tokens', '/admins', '/audit?limit=1000'];
  return Promise.all(paths.map((p) => admin.ok('GET', p)));
}

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
});
afterAll(async () => { await svc?.stop(); });

describe('first start', () => {
  it('writes the bootstrap admin token 0600 and does not print it when stderr is not a terminal', async () => {
    expect(statSync(join(svc.dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(svc.output()).toContain(`bootstrap global-admin token written to ${join(svc.dataDir, 'admin-token')}`);
    expect(svc.output()).not.toContain(svc.adminToken);
    expect((await admin.get('/admins')).status).toBe(200);
  });
});

describe('catalogue and subscriptions', () => {
  it('lists both device products with sku, name and id', async () => {
    const r = await admin.ok('GET', '/products');
    const names = r.items.map((p: any) => p.name);
    expect(names).toContain('Microsoft 365 Apps for enterprise (device)');
    expect(names).toContain('Microsoft 365 Apps for education (device)');
    for (const p of r.items) expect(p.id && p.sku).toBeTruthy();
  });

  it('refuses an unknown product with a message that lists the known ones', async () => {
    const r = await admin.post('/subscriptions', { product: 'NOPE', seats: 3 });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toContain(SKU);
  });
});

describe('assigning and unassigning', () => {
  it('allows one subscription per group: a second one is refused with 409 and nothing changes', async () => {
    const a = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'EA one' });
    const b = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_EDUCATION_DEVICE', seats: 5, name: 'EES two' });
    await admin.ok('POST', '/groups', { name: 'Lab 1' });
    const first = await admin.post('/licenses/assign', { subscription: 'EA one', group: 'Lab 1' });
    expect(first.status).toBe(201);
    expect(first.body.group.name).toBe('Lab 1');
    const before = await snapshot();
    const second = await admin.post('/licenses/assign', { subscription: b.id, group: 'Lab 1' });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('GROUP_ALREADY_LICENSED');
    expect(second.body.error.message).toMatch(/already has subscription 'EA one'/);
    expect(await snapshot()).toEqual(before);
    const again = await admin.post('/licenses/assign', { subscription: a.id, group: 'Lab 1' });
    expect(again.status).toBe(409);
  });

  it('licenses every device of the group, and unassign takes it from every one', async () => {
    const devices = await enrollDevices(3, 'class');
    const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 10, name: 'Classroom EA' });
    await admin.ok('POST', '/groups', { name: 'Classroom' });
    await admin.ok('POST', '/groups/Classroom/devices', { devices: devices.map((d) => d.deviceId) });
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Classroom' });
    for (const d of devices) {
      const v = await admin.ok('GET', `/devices/${d.deviceId}`);
      expect(v.licensed).toBe(true);
      expect(v.reason).toBe('ASSIGNED');
      expect(v.licenseGroup.name).toBe('Classroom');
    }
    const un = await admin.ok('POST', '/licenses/unassign', { subscription: 'Classroom EA', group: 'Classroom', confirm: true });
    expect(un.devicesAffected).toBe(3);
    for (const d of devices) {
      const v = await admin.ok('GET', `/devices/${d.deviceId}`);
      expect(v.licensed).toBe(false);
      expect(v.reason).toBe('NOT_IN_LICENSED_GROUP');
    }
    const again = await admin.post('/licenses/unassign', { subscription: 'Classroom EA', group: 'Classroom', confirm: true });
    expect(again.status).toBe(404);
  });

  it('gives seats to the earliest members and SEATS_EXHAUSTED to the rest, visibly', async () => {
    const devices = await enrollDevices(4, 'shift');
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 2, name: 'Two seats' });
    await admin.ok('POST', '/groups', { name: 'Shift' });
    for (const d of devices) await admin.ok('POST', '/groups/Shift/devices', { devices: [d.deviceId] });
    await admin.ok('POST', '/licenses/assign', { subscription: 'Two seats', group: 'Shift' });
    const states = await Promise.all(devices.map((d) => admin.ok('GET', `/devices/${d.deviceId}`)));
    expect(states.map((s) => s.licensed)).toEqual([true, true, false, false]);
    expect(states.slice(2).map((s) => s.reason)).toEqual(['SEATS_EXHAUSTED', 'SEATS_EXHAUSTED']);
    const sub = await admin.ok('GET', '/subscriptions/Two seats');
    expect(sub.seatsUsed).toBe(2);
    expect(sub.seatsExhausted).toBe(2);
    const exhausted = await admin.ok('GET', '/devices?licensed=false&reason=SEATS_EXHAUSTED');
    expect(exhausted.items.map((d: any) => d.id).sort()).toEqual([devices[2].deviceId, devices[3].deviceId].sort());
    // Removing an early member hands its seat to the next in line.
    await admin.ok('POST', '/groups/Shift/devices/remove', { devices: [devices[0].deviceId], confirm: true });
    expect((await admin.ok('GET', `/devices/${devices[2].deviceId}`)).licensed).toBe(true);
    expect((await admin.ok('GET', `/devices/${devices[3].deviceId}`)).reason).toBe('SEATS_EXHAUSTED');
    // More seats license the rest.
    await admin.ok('PATCH', '/subscriptions/Two seats', { seats: 3 });
    expect((await admin.ok('GET', `/devices/${devices[3].deviceId}`)).licensed).toBe(true);
  });

  it('licenses devices of nested groups and refuses a nesting cycle', async () => {
    const [d] = await enrollDevices(1, 'nested');
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'School EA' });
    await admin.ok('POST', '/groups', { name: 'School' });
    await admin.ok('POST', '/groups', { name: 'Year 7', parent: 'School' });
    await admin.ok('POST', '/groups', { name: 'Year 7 tablets', parent: 'Year 7' });
    await admin.ok('POST', '/groups/Year 7 tablets/devices', { devices: [d.deviceId] });
    await admin.ok('POST', '/licenses/assign', { subscription: 'School EA', group: 'School' });
    const v = await admin.ok('GET', `/devices/${d.deviceId}`);
    expect(v.licensed).toBe(true);
    expect(v.licenseGroup.name).toBe('School');
    const before = await snapshot();
    const cyc = await admin.post('/groups/Year 7 tablets/children', { group: 'School' });
    expect(cyc.status).toBe(409);
    expect(cyc.body.error.code).toBe('GROUP_CYCLE');
    expect(await snapshot()).toEqual(before);
    await admin.ok('POST', '/groups/Year 7/children/remove', { group: 'Year 7 tablets', confirm: true });
    expect((await admin.ok('GET', `/devices/${d.deviceId}`)).licensed).toBe(false);
  });

  it('takes licences away when a subscription is suspended or a device disabled', async () => {
    const [d] = await enrollDevices(1, 'susp');
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'Suspendable' });
    await admin.ok('POST', '/groups', { name: 'Susp group' });
    await admin.ok('POST', '/groups/Susp group/devices', { devices: [d.deviceId] });
    await admin.ok('POST', '/licenses/assign', { subscription: 'Suspendable', group: 'Susp group' });
    await admin.ok('PATCH', '/subscriptions/Suspendable', { status: 'suspended', confirm: true });
    expect((await admin.ok('GET', `/devices/${d.deviceId}`)).reason).toBe('SUBSCRIPTION_SUSPENDED');
    await admin.ok('PATCH', '/subscriptions/Suspendable', { status: 'active' });
    expect((await admin.ok('GET', `/devices/${d.deviceId}`)).licensed).toBe(true);
    await admin.ok('PATCH', `/devices/${d.deviceId}`, { disabled: true, confirm: true });
    expect((await admin.ok('GET', `/devices/${d.deviceId}`)).reason).toBe('DEVICE_DISABLED');
  });

  it('expires a subscription at its term end without an admin action', async () => {
    const [d] = await enrollDevices(1, 'term');
    const termEnd = new Date(Date.now() + 2500).toISOString();
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'Short term', termEnd });
    await admin.ok('POST', '/groups', { name: 'Term group' });
    await admin.ok('POST', '/groups/Term group/devices', { devices: [d.deviceId] });
    await admin.ok('POST', '/licenses/assign', { subscription: 'Short term', group: 'Term group' });
    const first = await d.entitlement();
    expect(first.body.seq).toBeGreaterThan(0);
    // The long-poll must wake when the term ends, with no admin action.
    const woke = await d.entitlement({ etag: first.etag!, wait: 30 });
    expect(woke.status).toBe(200);
    const v = await admin.ok('GET', `/devices/${d.deviceId}`);
    expect(v.reason).toBe('SUBSCRIPTION_EXPIRED');
  }, 40_000);
});

const READ_ONLY_POSTS = new Set(['post /v1/admin/groups/preview']);

describe('roles and bad input', () => {
  it('refuses every write of a reader with 403, and changes nothing', async () => {
    const reader = await admin.ok('POST', '/admins', { role: 'reader', name: 'auditor' });
    const r = adminClient(svc.url, reader.token);
    expect((await r.get('/devices')).status).toBe(200);
    const spec = await (await fetch(`${svc.url}/openapi.json`)).json() as any;
    const writes: [string, string][] = [];
    for (const [path, ops] of Object.entries<any>(spec.paths)) {
      if (!path.startsWith('/v1/admin')) continue;
      // The POSTs that only read are open to readers (rule-groups.test.ts checks the rule preview's side).
      for (const m of Object.keys(ops)) if (m !== 'get' && m !== 'head' && !READ_ONLY_POSTS.has(`${m} ${path}`)) writes.push([m.toUpperCase(), path]);
    }
    expect(writes.length).toBeGreaterThanOrEqual(12);
    const before = await snapshot();
    for (const [m, path] of writes) {
      const p = path.replace('/v1/admin', '').replace('{ref}', 'Lab 1');
      const res = await r.call(m, p, {});
      expect(res.status, `${m} ${p}`).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses missing and wrong admin tokens', async () => {
    expect((await fetch(`${svc.url}/v1/admin/devices`)).status).toBe(401);
    expect((await adminClient(svc.url, 'dla_forged').get('/devices')).status).toBe(401);
  });

  it('refuses malformed, oversized and mistyped bodies with a clear error and changes nothing', async () => {
    const before = await snapshot();
    const cases: [string, string, unknown, string?][] = [
      ['POST', '/subscriptions', { product: SKU, seats: 'ten' }],
      ['POST', '/subscriptions', { product: SKU, seats: -1 }],
      ['POST', '/subscriptions', { product: SKU, seats: 1, extra: true }],
      ['POST', '/subscriptions', { product: SKU, seats: 1, termEnd: 'tomorrow' }],
      ['POST', '/groups', { name: '' }],
      ['POST', '/groups', { name: 'x'.repeat(500) }],
      ['POST', '/licenses/assign', { subscription: 'EA one' }],
      ['POST', '/groups/Lab 1/devices', { devices: [] }],
      ['POST', '/enroll-tokens', { uses: 0 }],
      ['POST', '/admins', { role: 'root' }],
      ['POST', '/groups', undefined, '{"name": "broken"'],
    ];
    for (const [m, p, body, raw] of cases) {
      const res = await admin.call(m, p, body, raw);
      expect(res.status, `${m} ${p} ${raw?.slice(0, 30) ?? JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body.error.code).toBe('string');
      expect(res.body.error.message.length).toBeGreaterThan(5);
    }
    // Oversized: the service answers 413 from the Content-Length alone and may close the
    // connection before the client has finished sending, so a reset is also a refusal.
    const big = await admin.call('POST', '/groups', undefined, JSON.stringify({ name: 'big', pad: 'x'.repeat(2 * 1024 * 1024) }))
      .then((r) => r.status, (e) => (e as Error & { cause?: { code?: string } }).cause?.code);
    expect([413, 'EPIPE', 'ECONNRESET']).toContain(big);
    const wrongType = await fetch(`${svc.url}/v1/admin/groups`, { method: 'POST', headers: { authorization: `Bearer ${svc.adminToken}`, 'content-type': 'text/plain' }, body: 'name=x' });
    expect(wrongType.status).toBe(415);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a second group with the same name, and unknown groups/devices by name', async () => {
    expect((await admin.post('/groups', { name: 'lab 1' })).status).toBe(409);
    const r = await admin.post('/licenses/assign', { subscription: 'EA one', group: 'No such group' });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toContain('No such group');
  });

  it('writes an audit event for every change, with who, what and when', async () => {
    const audit = await admin.ok('GET', '/audit?limit=1000');
    const actions = audit.items.map((e: any) => e.action);
    for (const a of ['subscription.create', 'group.create', 'license.assign', 'license.unassign', 'group.add-devices', 'admin.create', 'enroll-token.create', 'device.enroll']) {
      expect(actions).toContain(a);
    }
    const assign = audit.items.find((e: any) => e.action === 'license.assign');
    expect(assign.actor.name).toBe('bootstrap admin');
    expect(Date.parse(assign.at)).toBeGreaterThan(Date.now() - 120_000);
    expect(assign.details.subscription).toMatch(/^sub_/);
  });
});
