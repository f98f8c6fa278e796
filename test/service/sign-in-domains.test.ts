// Sign-in domain aliases (issue 16) through the real HTTP API of a real
// devlic-server (SQLite, and PostgreSQL in the integration-pg project):
// validation and global-admin only, nothing changed on refusal; an alias
// makes `CORP\alice` the person `alice@corp.example.com` for user lookups,
// the device's user-entitlement request (token bound to the asked name,
// naming the person), user-group members and the fleet view; names listed
// under both spellings are merged and reported, seats recounted in the
// same transaction; long-polls in either domain are woken by an alias
// change, and the answers for one asked name keep growing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, runAdminCli, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts, claimsOf } from '../helpers/sim-device.ts';
import { PERSON_SEQ_SPAN } from '../../shared/sign-in-domains.ts';

let svc: ServiceProcess;
let admin: AdminClient;
let dev: SimDevice;

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  dev = new SimDevice(svc.url, fakeFacts('win-1'));
  expect((await dev.enroll((await admin.ok('POST', '/enroll-tokens', { uses: 1 })).token)).status).toBe(201);
  await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 10, name: 'Staff' });
  // Teachers as directory sync would name them (userPrincipalName); Old lists bob as a device used to report him.
  await admin.ok('POST', '/user-groups', { name: 'Teachers' });
  await admin.ok('POST', '/user-groups/Teachers/users', { users: ['alice@corp.example.com', 'bob@corp.example.com'] });
  await admin.ok('POST', '/user-groups', { name: 'Old' });
  await admin.ok('POST', '/user-groups/Old/users', { users: ['CORP\\bob'] });
  await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff', userGroup: 'Teachers' });
  await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff', userGroup: 'Old' });
});
afterAll(async () => { await svc?.stop(); });

const seatsUsed = async () => (await admin.ok('GET', '/subscriptions/Staff')).seatsUsed;
const snapshot = () => Promise.all(['/sign-in-domains', '/user-groups', '/subscriptions', '/audit?limit=1000'].map((p) => admin.ok('GET', p)));

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
const waiting = async (n: number) => new RegExp(`^devlic_user_longpolls_waiting ${n}$`, 'm').test(await (await fetch(`${svc.url}/metrics`)).text());

describe('sign-in domain aliases', () => {
  it('without an alias CORP\\alice is another person than alice@corp.example.com, and bob is counted twice', async () => {
    expect(await admin.ok('GET', '/sign-in-domains')).toEqual({ items: [], total: 0 });
    expect(await admin.ok('GET', '/users/CORP%5Calice/license')).toMatchObject({ user: 'alice@corp', status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(await seatsUsed()).toBe(3);
  });

  it('refuses bad names with SIGN_IN_DOMAIN_INVALID and a reader with 403, changing nothing', async () => {
    const before = await snapshot();
    for (const [netbios, dns, why] of [['corp.example.com', 'corp.example.com', /DNS domain/], ['CORP', 'corp', /one label/], ['TOOLONGNETBIOSNAME', 'a.b', /longer than 15/],
      ['CO RP', 'a.b', /contains/], ['CORP', '-x.example.com', /invalid label/]] as const) {
      const r = await admin.post('/sign-in-domains', { netbios, dns });
      expect([r.status, r.body.error.code], `${netbios} ${dns}`).toEqual([400, 'SIGN_IN_DOMAIN_INVALID']);
      expect(r.body.error.message).toMatch(why);
    }
    const reader = adminClient(svc.url, (await admin.ok('POST', '/admins', { role: 'reader', name: 'auditor' })).token);
    const after = await snapshot(); // the reader's creation is audited: compare from here
    expect(after[0]).toEqual(before[0]);
    const r = await reader.post('/sign-in-domains', { netbios: 'CORP', dns: 'corp.example.com' });
    expect([r.status, r.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await reader.post('/sign-in-domains/CORP/remove', {})).status).toBe(403);
    expect((await reader.get('/sign-in-domains')).status).toBe(200);
    expect(await snapshot()).toEqual(after);
    expect((await admin.post('/sign-in-domains/CORP/remove', {})).body.error.code).toBe('NOT_FOUND');
  });

  it('adding CORP -> corp.example.com wakes a long-poll on CORP\\alice with her licence, bound to the asked name', async () => {
    const cur = await dev.userEntitlement('CORP\\Alice');
    expect(cur.body).toMatchObject({ user: 'alice@corp', seq: 1 });
    expect(claimsOf(cur.body.token)).toMatchObject({ status: 'unlicensed' });
    const held = dev.userEntitlement('CORP\\alice', { seq: cur.body.seq, wait: 30 });
    await until(() => waiting(1));
    const t0 = Date.now();
    const add = await admin.ok('POST', '/sign-in-domains', { netbios: 'Corp', dns: 'Corp.Example.com' });
    expect(add).toEqual({ netbios: 'corp', dns: 'corp.example.com', merged: [{ from: 'bob@corp', into: 'bob@corp.example.com' }] });
    const r = await held;
    const ms = Date.now() - t0;
    expect(r.body).toMatchObject({ user: 'alice@corp', person: 'alice@corp.example.com' });
    expect(r.body.seq).toBeGreaterThan(PERSON_SEQ_SPAN);
    expect(claimsOf(r.body.token)).toMatchObject({ sub: dev.deviceId, user: 'alice@corp', person: 'alice@corp.example.com', status: 'licensed', reason: 'ASSIGNED', seq: r.body.seq });
    expect(ms).toBeLessThan(1000);
    console.log(`sign-in domain alias reached a waiting device in ${ms} ms`);
  });

  it('applies the alias to lookups, merges bob into one person holding one seat, and audits the change', async () => {
    expect(await admin.ok('GET', '/sign-in-domains')).toMatchObject({ items: [{ netbios: 'corp', dns: 'corp.example.com' }], total: 1 });
    expect(await admin.ok('GET', '/users/CORP%5Calice/license')).toMatchObject({ user: 'alice@corp.example.com', status: 'licensed' });
    expect(await admin.ok('GET', '/users/alice@corp/license')).toMatchObject({ user: 'alice@corp.example.com', status: 'licensed' });
    expect(await seatsUsed()).toBe(2);
    const ev = (await admin.ok('GET', '/audit?limit=1000')).items.find((e: any) => e.action === 'sign-in-domain.add');
    expect(ev).toMatchObject({ target: 'corp', actor: { name: 'bootstrap admin' }, details: { netbios: 'corp', dns: 'corp.example.com', mergedCount: 1 } });
    const again = await admin.post('/sign-in-domains', { netbios: 'CORP', dns: 'other.example.com' });
    expect([again.status, again.body.error.code]).toEqual([409, 'SIGN_IN_DOMAIN_TAKEN']);
  });

  it('stores typed members as the person and removes every spelling of them', async () => {
    const g = await admin.ok('POST', '/user-groups/Teachers/users', { users: ['CORP\\Carol', 'carol@corp.example.com'] });
    expect(g.members).toEqual(['alice@corp.example.com', 'bob@corp.example.com', 'carol@corp.example.com']);
    // Old still lists bob under the NetBIOS spelling (stored before the alias): removing bob@corp.example.com takes that row.
    const old = await admin.ok('POST', '/user-groups/Old/users/remove', { users: ['bob@corp.example.com'], confirm: true });
    expect(old.members).toEqual([]);
    expect(await admin.ok('GET', '/users/bob@corp/license')).toMatchObject({ user: 'bob@corp.example.com', status: 'licensed' });
  });

  it('shows in the fleet view whom a reported name stands for', async () => {
    const report = { mode: 'full', reason: 'ASSIGNED', users: [{ name: 'CORP\\alice', mode: 'full', licence: 'user' }, { name: 'pupil', mode: 'read-only' }],
      agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: 1 };
    expect(await dev.report(report)).toBe(204);
    const v = await admin.ok('GET', `/devices/${dev.deviceId}`);
    expect(v.users).toEqual([{ name: 'CORP\\alice', mode: 'full', licence: 'user', person: 'alice@corp.example.com' }, { name: 'pupil', mode: 'read-only' }]);
    expect(v.reports[0].users[0].person).toBe('alice@corp.example.com');
    const l = await admin.ok('GET', '/devices');
    expect(l.items.find((d: any) => d.id === dev.deviceId).users[0].person).toBe('alice@corp.example.com');
  });

  it('refuses to remove the alias unless confirmed while people are licensed in its DNS domain, changing nothing', async () => {
    const before = await snapshot();
    const r = await admin.post('/sign-in-domains/CORP/remove', {});
    expect([r.status, r.body.error.code]).toEqual([428, 'CONFIRMATION_REQUIRED']);
    expect(r.body.error.details.impact).toMatchObject({ people: 3, peopleSample: ['alice@corp.example.com', 'bob@corp.example.com', 'carol@corp.example.com'] });
    expect(r.body.error.message).toMatch(/3 people licensed as user@corp.example.com .* lose that licence on devices that report CORP\\user/);
    expect(await snapshot()).toEqual(before);
  });

  it('removing the alias wakes the long-poll with CORP\\alice read-only again, at a higher seq', async () => {
    const cur = await dev.userEntitlement('CORP\\alice');
    const held = dev.userEntitlement('CORP\\alice', { seq: cur.body.seq, wait: 30 });
    await until(() => waiting(1));
    const t0 = Date.now();
    expect(await admin.ok('POST', '/sign-in-domains/CORP/remove', { confirm: true })).toEqual({ netbios: 'corp', dns: 'corp.example.com', merged: [] });
    const r = await held;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.body.seq).toBeGreaterThan(cur.body.seq);
    expect(r.body.person).toBeUndefined();
    expect(claimsOf(r.body.token)).toMatchObject({ user: 'alice@corp', status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(claimsOf(r.body.token).person).toBeUndefined();
    expect(await admin.ok('GET', '/users/CORP%5Calice/license')).toMatchObject({ user: 'alice@corp', status: 'unlicensed' });
    expect(await admin.ok('GET', '/sign-in-domains')).toEqual({ items: [], total: 0 });
    expect((await admin.ok('GET', `/devices/${dev.deviceId}`)).users[0].person).toBeUndefined();
    // Added back: the generation keeps growing, so the asked name's answers do too.
    await admin.ok('POST', '/sign-in-domains', { netbios: 'CORP', dns: 'corp.example.com' });
    const back = await dev.userEntitlement('CORP\\alice');
    expect(back.body.seq).toBeGreaterThan(r.body.seq);
    expect(claimsOf(back.body.token)).toMatchObject({ status: 'licensed', person: 'alice@corp.example.com' });
  });
});

describe('devlic-admin sign-in-domains', () => {
  it('lists, refuses a removal without --yes (exit 2, nothing changed), removes with --yes, and adds with the merges shown', async () => {
    const list = await runAdminCli(svc, ['sign-in-domains', 'list']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^CORP\s+corp\.example\.com\s/m);
    const no = await runAdminCli(svc, ['sign-in-domains', 'remove', 'CORP']);
    expect(no.code).toBe(2);
    expect(`${no.out}${no.err}`).toMatch(/user licence from 3 people[^]*alice@corp\.example\.com/);
    expect((await admin.ok('GET', '/sign-in-domains')).total).toBe(1);
    const yes = await runAdminCli(svc, ['sign-in-domains', 'remove', 'CORP', '--yes']);
    expect(yes.code, yes.err).toBe(0);
    expect(yes.out).toContain('CORP\\user is user@corp again, no longer user@corp.example.com.');
    // dave listed under both spellings while there is no alias: the add reports the merge.
    await admin.ok('POST', '/user-groups/Teachers/users', { users: ['CORP\\dave', 'dave@corp.example.com'] });
    const add = await runAdminCli(svc, ['sign-in-domains', 'add', 'corp', 'CORP.example.com']);
    expect(add.code, add.err).toBe(0);
    expect(add.out).toMatch(/CORP\\user is now the person user@corp\.example\.com\./);
    expect(add.out).toMatch(/^dave@corp\s+dave@corp\.example\.com$/m);
    const bad = await runAdminCli(svc, ['sign-in-domains', 'add', 'corp.example.com', 'corp.example.com']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/SIGN_IN_DOMAIN_INVALID|DNS domain/);
  });
});
