// Per-user licences (issue 16) through the real HTTP API of a real
// devlic-server (SQLite, and PostgreSQL in the integration-pg project): user
// products, user groups with normalised members, assignment rules (kind,
// one subscription per group, global-admin only, audit), seats counting
// people, and the device protocol: a signed user token bound to device and
// person, and a long-poll woken by a user-licence change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactVerify, createLocalJWKSet } from 'jose';
import type { KeyObject } from 'node:crypto';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts, claimsOf } from '../helpers/sim-device.ts';
import { keyFromJwk, verifyEntitlement } from '../../shared/token.ts';
import { USER_ENTITLEMENT_TYP, verifyUserEntitlement } from '../../shared/user-token.ts';

let svc: ServiceProcess;
let admin: AdminClient;
let devA: SimDevice;
let devB: SimDevice;

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  const t = await admin.ok('POST', '/enroll-tokens', { uses: 2 });
  devA = new SimDevice(svc.url, fakeFacts('lab-a'));
  devB = new SimDevice(svc.url, fakeFacts('lab-b'));
  expect((await devA.enroll(t.token)).status).toBe(201);
  expect((await devB.enroll(t.token)).status).toBe(201);
});
afterAll(async () => { await svc?.stop(); });

/** Polls a condition with a generous deadline (the machine is busy). */
async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function snapshot() {
  return Promise.all(['/user-groups', '/user-licenses', '/subscriptions', '/licenses'].map((p) => admin.ok('GET', p)));
}

describe('catalogue', () => {
  it('lists user products beside device products, each with its kind', async () => {
    const r = await admin.ok('GET', '/products');
    const byName = new Map(r.items.map((p: any) => [p.name, p]));
    expect(byName.get('Microsoft 365 Apps for enterprise (user)')).toMatchObject({ kind: 'user', sku: 'M365_APPS_ENTERPRISE_USER' });
    expect(byName.get('Microsoft 365 Apps for enterprise (device)')).toMatchObject({ kind: 'device' });
  });
});

describe('user groups and assignment', () => {
  it('creates a user group and stores members by their normalised sign-in name', async () => {
    await admin.ok('POST', '/user-groups', { name: 'Teachers' });
    const g = await admin.ok('POST', '/user-groups/Teachers/users', { users: ['CONTOSO\\Alice', 'bob@Contoso', 'alice@contoso'] });
    expect(g.members).toEqual(['alice@contoso', 'bob@contoso']);
    expect(g.memberCount).toBe(2);
    expect(g.added).toEqual(['alice@contoso', 'bob@contoso']); // what this request stored, in the service's spelling
    expect((await admin.post('/user-groups', { name: 'teachers' })).body.error.code).toBe('NAME_TAKEN');
  });

  it('refuses a bad sign-in name with SIGN_IN_NAME_INVALID and adds nobody', async () => {
    const before = await snapshot();
    const r = await admin.post('/user-groups/Teachers/users', { users: ['carol', 'a,b'] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('SIGN_IN_NAME_INVALID');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses every user-licence write of a reader with 403, and changes nothing', async () => {
    const reader = adminClient(svc.url, (await admin.ok('POST', '/admins', { role: 'reader', name: 'auditor' })).token);
    const before = await snapshot();
    for (const [p, b] of [['/user-groups', { name: 'X' }], ['/user-groups/Teachers/users', { users: ['x'] }], ['/user-groups/Teachers/users/remove', { users: ['bob'] }],
      ['/user-licenses/assign', { subscription: 'x', userGroup: 'Teachers' }], ['/user-licenses/unassign', { subscription: 'x', userGroup: 'Teachers' }]] as const) {
      const r = await reader.post(p, b);
      expect(r.status, p).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
    }
    expect((await reader.get('/user-groups')).status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });

  it('assigns only user products to user groups and device products to device groups', async () => {
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 1, name: 'Staff user licences' });
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 5, name: 'Lab device licences' });
    await admin.ok('POST', '/groups', { name: 'Lab' });
    const wrong1 = await admin.post('/licenses/assign', { subscription: 'Staff user licences', group: 'Lab' });
    expect([wrong1.status, wrong1.body.error.code]).toEqual([409, 'WRONG_PRODUCT_KIND']);
    const wrong2 = await admin.post('/user-licenses/assign', { subscription: 'Lab device licences', userGroup: 'Teachers' });
    expect([wrong2.status, wrong2.body.error.code]).toEqual([409, 'WRONG_PRODUCT_KIND']);
    const a = await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff user licences', userGroup: 'Teachers' });
    expect(a).toMatchObject({ userGroup: { name: 'Teachers' }, subscription: { name: 'Staff user licences' }, product: 'M365_APPS_ENTERPRISE_USER' });
  });

  it('allows one subscription per user group', async () => {
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_EDUCATION_USER', seats: 3, name: 'Edu users' });
    const r = await admin.post('/user-licenses/assign', { subscription: 'Edu users', userGroup: 'Teachers' });
    expect([r.status, r.body.error.code]).toEqual([409, 'GROUP_ALREADY_LICENSED']);
  });

  it('counts seats in people: one seat, two members -> the earlier one is licensed', async () => {
    const alice = await admin.ok('GET', '/users/CONTOSO%5CAlice/license');
    expect(alice).toMatchObject({ user: 'alice@contoso', status: 'licensed', reason: 'ASSIGNED', product: 'M365_APPS_ENTERPRISE_USER' });
    expect(await admin.ok('GET', '/users/bob@contoso/license')).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' });
    expect(await admin.ok('GET', '/users/nobody/license')).toMatchObject({ seq: 1, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    const sub = (await admin.ok('GET', '/subscriptions')).items.find((s: any) => s.name === 'Staff user licences');
    expect(sub).toMatchObject({ seats: 1, seatsUsed: 1, seatsExhausted: 1 });
    // Seats added: bob gets one too (a subscription change recomputes people as well).
    await admin.ok('PATCH', '/subscriptions/Staff%20user%20licences', { seats: 2 });
    expect(await admin.ok('GET', '/users/bob@contoso/license')).toMatchObject({ status: 'licensed' });
  });

  it('audits every user-licence change with who did it', async () => {
    const audit = await admin.ok('GET', '/audit?limit=1000');
    const actions = audit.items.map((e: any) => e.action);
    for (const a of ['user-group.create', 'user-group.add-users', 'license.assign-users']) expect(actions).toContain(a);
    const add = audit.items.find((e: any) => e.action === 'user-group.add-users');
    expect(add.actor.name).toBe('bootstrap admin');
    expect(add.details.users).toEqual(['alice@contoso', 'bob@contoso']);
    // The first request's 'alice@contoso' repeated a spelling already in it: one member, and no "already" entry for it.
    expect(add.details.alreadyMembers).toEqual([]);
  });

  it('audits an add that stored nobody with the names already there', async () => {
    await admin.ok('POST', '/user-groups/Teachers/users', { users: ['Contoso\\ALICE'] });
    const last = (await admin.ok('GET', '/audit?action=user-group.add-users')).items[0];
    expect(last.details).toEqual({ users: [], alreadyMembers: ['alice@contoso'] });
  });
});

describe('device protocol', () => {
  it('answers a device with a user token bound to it and to the person, verifiable with the published keys', async () => {
    const r = await devA.userEntitlement('Contoso\\ALICE');
    expect(r.status).toBe(200);
    expect(r.body.user).toBe('alice@contoso');
    const jwks = await (await fetch(`${svc.url}/.well-known/jwks.json`)).json() as any;
    const { protectedHeader } = await compactVerify(r.body.token, createLocalJWKSet(jwks));
    expect(protectedHeader.typ).toBe(USER_ENTITLEMENT_TYP);
    const c = claimsOf(r.body.token);
    expect(c).toMatchObject({ sub: devA.deviceId, user: 'alice@contoso', status: 'licensed', reason: 'ASSIGNED', seq: r.body.seq });
    expect(c.exp - c.iat).toBeGreaterThan(80 * 86400);
    const keys = new Map<string, KeyObject>(jwks.keys.map((k: any) => [k.kid, keyFromJwk(k)]));
    const want = { keys, deviceId: devA.deviceId, issuer: c.iss, audience: 'devlic-agent' } as const;
    await expect(verifyUserEntitlement(r.body.token, { ...want, user: 'alice@contoso' })).resolves.toMatchObject({ user: 'alice@contoso' });
    // Not for another person, not on another device, and never as a device token.
    await expect(verifyUserEntitlement(r.body.token, { ...want, user: 'bob@contoso' })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    await expect(verifyUserEntitlement(r.body.token, { ...want, deviceId: devB.deviceId, user: 'alice@contoso' })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    await expect(verifyEntitlement(r.body.token, want)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    // And a device token is no user token.
    const dev = await devA.entitlement();
    await expect(verifyUserEntitlement(dev.body.token, { ...want, user: 'alice@contoso' })).rejects.toThrow(/typ/);
  });

  it('refuses an unauthenticated request and a bad name', async () => {
    const anon = await fetch(`${svc.url}/v1/device/user-entitlement`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice"}' });
    expect(anon.status).toBe(401);
    const bad = await devA.userEntitlement('a\\b\\c');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'SIGN_IN_NAME_INVALID']);
  });

  it('wakes a long-poll for the person within a second of unassigning, on every device they are signed in on', async () => {
    const cur = await devA.userEntitlement('alice@contoso');
    const waitA = devA.userEntitlement('alice@contoso', { seq: cur.body.seq, wait: 30 });
    const waitB = devB.userEntitlement('alice@contoso', { seq: cur.body.seq, wait: 30 });
    // Both held before the change, so the answer proves the wake (not a fresh read).
    await until(async () => /^devlic_user_longpolls_waiting 2$/m.test(await (await fetch(`${svc.url}/metrics`)).text()));
    const t0 = Date.now();
    const un = await admin.ok('POST', '/user-licenses/unassign', { subscription: 'Staff user licences', userGroup: 'Teachers', confirm: true });
    expect(un.userGroup).toMatch(/^ugr_/);
    const [a, b] = await Promise.all([waitA, waitB]);
    const ms = Date.now() - t0;
    for (const r of [a, b]) {
      expect(r.body.seq).toBeGreaterThan(cur.body.seq);
      expect(claimsOf(r.body.token)).toMatchObject({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', user: 'alice@contoso' });
    }
    expect(ms).toBeLessThan(1000);
    console.log(`user licence unassign reached two waiting devices in ${ms} ms`);
  });

  it('answers at the end of the wait when nothing changed', async () => {
    const cur = await devA.userEntitlement('nobody');
    const t0 = Date.now();
    const r = await devA.userEntitlement('nobody', { seq: cur.body.seq, wait: 1 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(r.body.seq).toBe(cur.body.seq);
  });
});
