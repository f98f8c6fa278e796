// Directory user groups (issue 16) against a REAL OpenLDAP (test/helpers/slapd.ts,
// AD-like `user` objects and OpenLDAP inetOrgPerson) through a real
// devlic-server and the real devlic-admin: members are the user objects of a
// directory group (nested groups followed, a cycle ending, computers and
// objects without a valid sign-in name left out and reported), named by
// userPrincipalName, else sAMAccountName@<DC parts of the DN>, else mail;
// a person leaving the group loses their seat in the sync's transaction, a
// device's long-poll for them is woken and a console's event stream hears of
// the group and the person (the `users` event); a directory that is down changes
// nothing; hand edits are refused; the periodic sync runs for user groups
// too. On SQLite and (project integration-pg) PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService, tempDir, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient, runAdminCli } from '../helpers/admin.ts';
import { openEventStream } from '../helpers/admin-events.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { TEST_BACKEND } from '../helpers/test-backend.ts';
import {
  READER_DN, SLAPD_MISSING, SLAPD_REQUIRED, SUFFIX, computerDn, computerLdif, groupDn, groupLdif, startSlapd, userDn, userLdif, type Slapd,
} from '../helpers/slapd.ts';

const STAFF = groupDn('Staff');

let ldap: Slapd;
let svc: ServiceProcess;
let admin: AdminClient;
let pwFile: string;
let dev: SimDevice;

const cli = (args: string[], env: Record<string, string> = {}) => runAdminCli(svc, args, env);

const members = async (g: string): Promise<string[]> => [...(await admin.ok('GET', `/user-groups/${encodeURIComponent(g)}`)).members].sort();
const licence = async (u: string) => admin.ok('GET', `/users/${encodeURIComponent(u)}/license`);
const seatsUsed = async () => (await admin.ok('GET', '/subscriptions')).items.find((s: any) => s.name === 'Staff (user)').seatsUsed;

const run = !SLAPD_MISSING || SLAPD_REQUIRED;

beforeAll(async () => {
  if (!run) return;
  ldap = await startSlapd([
    userLdif('Alice', { upn: 'Alice@Corp.Example', sam: 'alice', mail: 'alice.other@example.test' }),
    userLdif('Bob', { sam: 'bob' }),
    userLdif('Carol', { mail: 'Carol@Example.Test', inetOrgPerson: true }),
    userLdif('Dave', { upn: 'dave:x@corp.example' }),
    userLdif('Erin'),
    userLdif('Frank', { upn: 'frank@corp.example' }),
    userLdif('Gina', { upn: 'gina@corp.example' }),
    computerLdif('lab-01', 'lab-01.corp.example'),
    groupLdif('Staff', [userDn('Alice'), userDn('Bob'), userDn('Carol'), userDn('Dave'), userDn('Erin'), computerDn('lab-01'), groupDn('Science'), `cn=gone,ou=people,${SUFFIX}`]),
    // Nested, of the other kind, and listing its parent back: a cycle.
    groupLdif('Science', [userDn('Frank'), groupDn('Staff')], 'groupOfNames'),
    groupLdif('Night shift', [userDn('Gina')]),
  ].join('\n'));
  svc = await startService({ logLevel: 'info' });
  admin = adminClient(svc.url, svc.adminToken);
  pwFile = join(tempDir('ldap-pw'), 'bind-password');
  writeFileSync(pwFile, `${ldap.readerPassword}\n`, { mode: 0o600 });
  const t = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
  dev = new SimDevice(svc.url, fakeFacts('lab-01'));
  expect((await dev.enroll(t.token)).status).toBe(201);
  const add = await cli(['directories', 'add', 'corp', '--url', ldap.url, '--bind-dn', READER_DN, '--password-file', pwFile, '--base-dn', SUFFIX]);
  expect(add.code, add.err).toBe(0);
  // A new directory's first periodic sync is due at once (the scheduler looks every 5 s): let it run now, so that
  // it cannot land between a test's LDAP change and the sync the test makes (it would take the change first).
  await waitFor('the first periodic sync of corp', async () => (await admin.ok('GET', '/directories/corp')).lastSync !== null, 60_000, 200);
  await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 10, name: 'Staff (user)' });
}, 120_000);
afterAll(async () => { await svc?.stop(); await ldap?.stop(); });

describe.skipIf(!run)(`directory user groups against a real OpenLDAP (${TEST_BACKEND})`, () => {
  it('fills a user group from the directory group\'s people: nested group and cycle followed, UPN / sAMAccountName@domain / mail, bad names reported, computers left out', async () => {
    const r = await cli(['user-groups', 'create', 'Staff', '--directory', 'corp', '--dn', STAFF, '--json']);
    expect(r.code, r.err).toBe(0);
    const g = JSON.parse(r.out);
    expect(g.directory).toMatchObject({ name: 'corp', dn: STAFF, lastSync: { ok: true, error: null } });
    // Alice by her UPN (not her mail), Bob by sAMAccountName + the DN's DC parts, Carol (inetOrgPerson) by mail, Frank from the nested group.
    expect(await members('Staff')).toEqual(['alice@corp.example', 'bob@example.test', 'carol@example.test', 'frank@corp.example']);
    expect(g.directory.group).toMatchObject({ people: 4, added: 4, removed: 0, skipped: 2, directoryGroups: 2 });
    expect(g.directory.group.skippedSample).toEqual(expect.arrayContaining([
      { dn: userDn('Dave'), value: 'dave:x@corp.example', error: expect.stringContaining("userPrincipalName: sign-in name contains ':'") },
      { dn: userDn('Erin'), value: null, error: 'no userPrincipalName, sAMAccountName or mail' },
    ]));
    const show = await cli(['user-groups', 'show', 'Staff']);
    expect(show.out).toMatch(/Directory:\s+cn=Staff,ou=groups,dc=example,dc=test in corp \(members synced from it; no hand edits\)/);
    expect(show.out).toMatch(/Last good sync: .*4 people in 2 directory groups, \+4 -0, 2 skipped/);
    expect(show.out).toMatch(/Skipped:\s+cn=Dave,ou=people,dc=example,dc=test: userPrincipalName: sign-in name contains ':'/);
    const list = await cli(['user-groups', 'list']);
    expect(list.out).toMatch(/Staff\s+4\s+-\s+corp\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC ok$/m);
    const sync = await cli(['directories', 'sync', 'corp']);
    expect(sync.code, sync.err).toBe(0);
    expect(sync.out).toContain('User groups: 0 people added, 0 removed');
    expect(sync.out).toMatch(/Skipped \(no valid sign-in name; fix them in the directory\):[\s\S]*Staff\s+cn=Erin,ou=people,dc=example,dc=test\s+no userPrincipalName/);
    expect((await admin.ok('GET', '/directories/corp')).userGroups).toEqual([{ id: g.id, name: 'Staff', dn: STAFF }]);
  });

  it('refuses hand edits of a directory user group (exit 2 in devlic-admin, 409 in the API) and changes nothing', async () => {
    const add = await cli(['user-groups', 'add-users', 'Staff', 'mallory@corp.example']);
    expect(add.code).toBe(2);
    expect(add.err).toContain('[GROUP_IS_DIRECTORY_BASED]');
    const rm = await admin.post('/user-groups/Staff/users/remove', { users: ['alice@corp.example'], confirm: true });
    expect([rm.status, rm.body.error.code]).toEqual([409, 'GROUP_IS_DIRECTORY_BASED']);
    expect(await members('Staff')).toHaveLength(4);
  });

  it('a person who leaves the directory group loses their seat at the next sync, in its transaction, and a waiting device and a console hear it', async () => {
    await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff (user)', userGroup: 'Staff' });
    const staffId = (await admin.ok('GET', '/user-groups/Staff')).id;
    const events = await openEventStream(svc.url, (await admin.ok('POST', '/admins', { role: 'reader', name: 'console' })).token);
    expect(await licence('frank@corp.example')).toMatchObject({ status: 'licensed', reason: 'ASSIGNED' });
    expect(await seatsUsed()).toBe(4);
    // Frank leaves the nested group.
    await ldap.modify(`dn: ${groupDn('Science')}\nchangetype: modify\ndelete: member\nmember: ${userDn('Frank')}\n`);
    // Nothing moves until the directory is synced.
    expect(await licence('frank@corp.example')).toMatchObject({ status: 'licensed' });
    const cur = await dev.userEntitlement('frank@corp.example');
    expect(claimsOf(cur.body.token)).toMatchObject({ status: 'licensed' });
    const waiting = dev.userEntitlement('frank@corp.example', { seq: cur.body.seq, wait: 30 });
    await waitFor('the long-poll for frank to be held', async () => /^devlic_user_longpolls_waiting 1$/m.test(await (await fetch(`${svc.url}/metrics`)).text()), 20_000, 50);
    // Not guarded: the directory is the source of truth (no --yes).
    const sync = await cli(['directories', 'sync', 'corp']);
    expect(sync.code, sync.err).toBe(0);
    expect(sync.out).toContain("User groups: 0 people added, 1 removed; 1 people's licences changed.");
    // The console's event: the group that lost a person and the person whose licence moved.
    const { data } = await events.next('users', (e) => e.groups.includes(staffId));
    events.close();
    expect(data).toEqual({ groups: [staffId], people: ['frank@corp.example'], all: false });
    const woken = await waiting;
    expect(woken.status).toBe(200);
    expect(woken.body.seq).toBeGreaterThan(cur.body.seq);
    expect(claimsOf(woken.body.token)).toMatchObject({ user: 'frank@corp.example', status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(await members('Staff')).toEqual(['alice@corp.example', 'bob@example.test', 'carol@example.test']);
    expect(await seatsUsed()).toBe(3);
    const audit = (await admin.ok('GET', '/audit?action=directory.sync')).items[0];
    expect(audit.details).toMatchObject({ name: 'corp', userGroups: 1, people: 3, peopleRemoved: 1, peopleChanged: 1, peopleLosingLicence: 1 });
  });

  it('a directory that is down changes nothing (members, licences), says so in `user-groups show`, and the next sync applies', async () => {
    await ldap.modify(`dn: ${STAFF}\nchangetype: modify\ndelete: member\nmember: ${userDn('Bob')}\n`);
    await ldap.pause();
    try {
      const r = await admin.post('/directories/corp/sync', {});
      expect([r.status, r.body.error.code]).toEqual([502, 'DIRECTORY_FAILED']);
      expect(await members('Staff')).toContain('bob@example.test');
      expect(await licence('bob@example.test')).toMatchObject({ status: 'licensed' });
      const show = await cli(['user-groups', 'show', 'Staff']);
      expect(show.out).toMatch(/Last sync:\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC FAILED$/m);
      expect(show.out).toMatch(/Sync error:\s+cannot reach the directory at .*connection refused \(no membership was changed\)/);
    } finally {
      await ldap.resume();
    }
    await admin.ok('POST', '/directories/corp/sync', {});
    expect(await members('Staff')).toEqual(['alice@corp.example', 'carol@example.test']);
    expect(await licence('bob@example.test')).toMatchObject({ status: 'unlicensed' });
  });

  it('syncs user groups by itself at the directory\'s interval', async () => {
    const add = await cli(['directories', 'add', 'corp-fast', '--url', ldap.url, '--bind-dn', READER_DN, '--password-file', pwFile, '--base-dn', SUFFIX, '--sync-every', '10s']);
    expect(add.code, add.err).toBe(0);
    expect((await cli(['user-groups', 'create', 'Night', '--directory', 'corp-fast', '--dn', groupDn('Night shift')])).code).toBe(0);
    expect(await members('Night')).toEqual(['gina@corp.example']);
    await ldap.modify(`dn: ${groupDn('Night shift')}\nchangetype: modify\nadd: member\nmember: ${userDn('Frank')}\n`);
    await waitFor('the periodic sync to take frank into Night', async () => (await members('Night')).includes('frank@corp.example'), 60_000, 500);
    const audit = (await admin.ok('GET', '/audit?action=directory.sync')).items;
    expect(audit.find((e: any) => e.actor.id === 'system')).toMatchObject({ details: { name: 'corp-fast', peopleAdded: 1, peopleRemoved: 0 } });
  });

  it('refuses to remove a directory a user group follows', async () => {
    const rm = await cli(['directories', 'remove', 'corp-fast']);
    expect(rm.code).toBe(1);
    expect(rm.err).toContain("'Night'");
    expect(rm.err).toContain('[DIRECTORY_IN_USE]');
  });
});
