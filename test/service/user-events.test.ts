// The `users` admin event (issue 16) and the paged read of a user group's
// people, against a real devlic-server (SQLite and, in integration-pg,
// PostgreSQL, where the event travels by NOTIFY): each change to a user
// group or user licence, from the REST API or the real devlic-admin, reaches
// a reader's event stream after commit (a read made when it arrives already
// sees the change) naming the group and the people whose answer moved; a
// refused change sends nothing. GET /user-groups/:ref/users pages a group's
// people with the same answers GET /users/NAME/license gives one by one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, runAdminCli, type AdminClient } from '../helpers/admin.ts';
import { openEventStream, type EventStream } from '../helpers/admin-events.ts';
import { TEST_BACKEND } from '../helpers/test-backend.ts';

let svc: ServiceProcess;
let admin: AdminClient;
let stream: EventStream;
let groupId = '';

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 1, name: 'Staff (user)' });
  // A reader listens: readers may read user groups and people's answers, so they may hear of them.
  const reader = (await admin.ok('POST', '/admins', { role: 'reader', name: 'watching' })).token;
  stream = await openEventStream(svc.url, reader);
}, 60_000);
afterAll(async () => { stream?.close(); await svc?.stop(); });

const names = (ev: { groups: string[] }) => ev.groups;
const licence = (u: string) => admin.ok('GET', `/users/${encodeURIComponent(u)}/license`);

describe(`users admin event (${TEST_BACKEND})`, () => {
  it('a new user group is announced with its id', async () => {
    const from = stream.events.length;
    groupId = (await admin.ok('POST', '/user-groups', { name: 'Teachers' })).id;
    const { data } = await stream.next('users', (e) => names(e).includes(groupId), { from });
    expect(data).toEqual({ groups: [groupId], people: [], all: false });
    // A change to people only: no `devices` event rides along.
    expect(stream.events.slice(from).filter((e) => e.name === 'devices')).toEqual([]);
  });

  it('people added by devlic-admin: the group is named once the change is committed', async () => {
    const from = stream.events.length;
    const r = await runAdminCli(svc, ['user-groups', 'add-users', 'Teachers', 'CONTOSO\\Alice', 'bob']);
    expect(r.code, r.err).toBe(0);
    const { data } = await stream.next('users', (e) => names(e).includes(groupId), { from });
    // Nobody's answer moved (the group has no licence yet): only the group.
    expect(data).toEqual({ groups: [groupId], people: [], all: false });
    expect((await admin.ok('GET', `/user-groups/${groupId}`)).members).toEqual(['alice@contoso', 'bob']);
  });

  it('an assignment names the group and who got a seat, and a read made on the event already sees it', async () => {
    const from = stream.events.length;
    // Not awaited: the state is read when the event arrives, whatever the order of answer and event.
    const assigning = admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff (user)', userGroup: 'Teachers' });
    const { data } = await stream.next('users', (e) => names(e).includes(groupId), { from });
    const seenThen = await admin.ok('GET', `/user-groups/${groupId}/users`);
    await assigning;
    // One seat: alice (first in) gets it, bob is answered SEATS_EXHAUSTED; both answers are news.
    expect(data.groups).toEqual([groupId]);
    expect([...data.people].sort()).toEqual(['alice@contoso', 'bob']);
    expect(seenThen.items.map((l: any) => [l.user, l.status, l.reason])).toEqual([['alice@contoso', 'licensed', 'ASSIGNED'], ['bob', 'unlicensed', 'SEATS_EXHAUSTED']]);
  });

  it('a refused change (unconfirmed, and a bad name) sends nothing; the confirmed one does', async () => {
    const from = stream.events.length;
    const refused = await admin.post('/user-groups/Teachers/users/remove', { users: ['alice@contoso'] });
    expect([refused.status, refused.body.error.code]).toEqual([428, 'CONFIRMATION_REQUIRED']);
    const bad = await admin.post('/user-groups/Teachers/users', { users: ['staff:teachers'] });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'SIGN_IN_NAME_INVALID']);
    // A later change of another group marks the point: events are in commit order, so anything the
    // refused changes had sent would have come before it.
    const marker = (await admin.ok('POST', '/user-groups', { name: 'Marker' })).id;
    const { index } = await stream.next('users', (e) => names(e).includes(marker), { from });
    const seen = stream.events.slice(from, index + 1).filter((e) => e.name === 'users');
    expect(seen.flatMap((e) => e.data.groups)).not.toContain(groupId);
    expect(seen.flatMap((e) => e.data.people)).toEqual([]);
    expect((await licence('alice@contoso')).status).toBe('licensed');

    const from2 = stream.events.length;
    await admin.ok('POST', '/user-groups/Teachers/users/remove', { users: ['alice@contoso'], confirm: true });
    const { data } = await stream.next('users', (e) => names(e).includes(groupId), { from: from2 });
    // Alice loses her seat, bob gets it.
    expect([...data.people].sort()).toEqual(['alice@contoso', 'bob']);
  });

  it('an unassign by devlic-admin names the group and the person who lost the licence', async () => {
    const from = stream.events.length;
    const r = await runAdminCli(svc, ['licenses', 'unassign', '--subscription', 'Staff (user)', '--user-group', 'Teachers', '--yes']);
    expect(r.code, r.err).toBe(0);
    const { data } = await stream.next('users', (e) => names(e).includes(groupId), { from });
    expect(data).toEqual({ groups: [groupId], people: ['bob'], all: false });
  });

  it('a subscription change that moves people names them (no group changed)', async () => {
    const before = stream.events.length;
    await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff (user)', userGroup: 'Teachers' });
    // Its own event first, so the one below is the subscription change's alone (events coalesce over a quarter second).
    const { index } = await stream.next('users', (e) => e.people.includes('bob'), { from: before });
    const sub = (await admin.ok('GET', '/subscriptions')).items.find((s: any) => s.name === 'Staff (user)');
    const from = index + 1;
    await admin.ok('PATCH', `/subscriptions/${sub.id}`, { seats: 0, confirm: true });
    const { data } = await stream.next('users', (e) => e.people.includes('bob'), { from });
    expect(data).toEqual({ groups: [], people: ['bob'], all: false });
    expect(await licence('bob')).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' });
  });
});

describe(`GET /user-groups/:ref/users (${TEST_BACKEND})`, () => {
  it('pages a group\'s people in seat order, each with the answer GET /users/NAME/license gives', async () => {
    const people = Array.from({ length: 7 }, (_, i) => `p${i}@school.example`);
    await admin.ok('POST', '/user-groups', { name: 'Paged' });
    await admin.ok('POST', '/user-groups/Paged/users', { users: people });
    // Two of them also in Teachers (licensed product, no seats left): their answer comes from there.
    await admin.ok('POST', '/user-groups/Teachers/users', { users: ['p1@school.example'] });
    const first = await admin.ok('GET', '/user-groups/Paged/users?limit=3');
    expect(first).toMatchObject({ total: 7, offset: 0, limit: 3 });
    const pages = [first, await admin.ok('GET', '/user-groups/Paged/users?limit=3&offset=3'), await admin.ok('GET', '/user-groups/Paged/users?limit=3&offset=6')];
    const items = pages.flatMap((p) => p.items);
    expect(items.map((l: any) => l.user)).toEqual(people);
    expect(items).toEqual(await Promise.all(people.map(licence)));
    expect(items[1]).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' });
    expect(items[0]).toMatchObject({ seq: 1, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    // Past the end: no one, the total still said.
    expect(await admin.ok('GET', '/user-groups/Paged/users?offset=50')).toMatchObject({ items: [], total: 7 });
  });

  it('refuses an unknown group and a bad page with a code, as every admin read does', async () => {
    const unknown = await admin.get('/user-groups/nope/users');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const bad = await admin.get('/user-groups/Paged/users?limit=0');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const big = await admin.get('/user-groups/Paged/users?limit=501');
    expect(big.status).toBe(400);
  });
});
