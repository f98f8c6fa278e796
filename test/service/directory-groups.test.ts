// Directory groups (issue 14) against a REAL OpenLDAP (test/helpers/slapd.ts)
// through a real devlic-server and the real devlic-admin: members are the
// computer objects of a directory group (nested groups followed, a cycle
// ending), matched by dNSHostName, its first label or cn; two devices with
// one hostname get nothing; paging past 1,000 members; a rename in the
// directory moves the seat at the next sync; a wrong password or a
// directory that is down changes nothing and is shown; the periodic sync
// runs by itself; hand edits are refused; the bind password appears in no
// answer, audit event, log line or database column. On SQLite and (project
// integration-pg) PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService, tempDir, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient, runAdminCli } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { openServiceDatabase, TEST_BACKEND } from '../helpers/test-backend.ts';
import {
  READER_DN, SLAPD_MISSING, SLAPD_REQUIRED, SUFFIX, computerDn, computerLdif, groupDn, groupLdif, startSlapd, type Slapd,
} from '../helpers/slapd.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const BULK = 1200;
const bulk = Array.from({ length: BULK }, (_, i) => `bulk-${String(i).padStart(4, '0')}`);
const SHARED = `CN=Shared laptops, OU=groups,${SUFFIX.toUpperCase()}`;

let ldap: Slapd;
let svc: ServiceProcess;
let admin: AdminClient;
let pwFile: string;
const dev: Record<string, SimDevice> = {};

const cli = (args: string[], env: Record<string, string> = {}) => runAdminCli(svc, args, env);

async function enroll(key: string, hostname: string): Promise<void> {
  const t = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
  const d = new SimDevice(svc.url, fakeFacts(hostname));
  expect((await d.enroll(t.token)).status).toBe(201);
  dev[key] = d;
}

async function members(group: string): Promise<string[]> {
  const g = await admin.ok('GET', `/groups/${encodeURIComponent(group)}`);
  for (const m of g.members) expect(m.why).toBe('directory');
  return g.members.map((m: any) => m.name).sort();
}

async function status(key: string): Promise<string> {
  const r = await dev[key]!.entitlement();
  expect(r.status).toBe(200);
  return claimsOf(r.body.token).status;
}

async function corp(): Promise<any> {
  return (await admin.ok('GET', '/directories')).items.find((d: any) => d.name === 'corp');
}

const run = !SLAPD_MISSING || SLAPD_REQUIRED;

beforeAll(async () => {
  if (!run) return;
  ldap = await startSlapd([
    ...['lab-01', 'kiosk-7', 'twin', 'spare'].map((c) => computerLdif(c, `${c.toUpperCase()}.corp.example`)),
    computerLdif('lab-02'),
    ...bulk.map((c) => computerLdif(c, `${c}.corp.example`)),
    `dn: uid=alice,ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\nsn: A\n`,
    groupLdif('Shared laptops', [computerDn('lab-01'), computerDn('kiosk-7'), computerDn('twin'), computerDn('spare'), groupDn('Lab B'), `uid=alice,ou=people,${SUFFIX}`, `cn=deleted-pc,ou=computers,${SUFFIX}`]),
    // A nested group of the other kind, which lists its parent back: a cycle.
    groupLdif('Lab B', [computerDn('lab-02'), groupDn('Shared laptops')], 'groupOfNames'),
    groupLdif('Bulk', bulk.map(computerDn)),
  ].join('\n'));
  svc = await startService({ logLevel: 'info' });
  admin = adminClient(svc.url, svc.adminToken);
  pwFile = join(tempDir('ldap-pw'), 'bind-password');
  writeFileSync(pwFile, `${ldap.readerPassword}\n`, { mode: 0o600 });
  await enroll('lab-01', 'LAB-01');
  await enroll('lab-02', 'lab-02');
  await enroll('kiosk-7', 'kiosk-7.corp.example');
  await enroll('twin-a', 'twin');
  await enroll('twin-b', 'twin');
  await enroll('office-01', 'office-01');
  await enroll('bulk', 'bulk-1150');
}, 120_000);
afterAll(async () => { await svc?.stop(); await ldap?.stop(); });

describe.skipIf(!run)(`directory groups against a real OpenLDAP (${TEST_BACKEND})`, () => {
  it('refuses a bad `directories add` with exit 2 and adds nothing; adds a directory from a password file', async () => {
    for (const args of [
      ['directories', 'add', 'corp', '--url', 'http://x', '--bind-dn', READER_DN, '--password-file', pwFile, '--base-dn', SUFFIX],
      ['directories', 'add', 'corp', '--url', ldap.url, '--bind-dn', READER_DN, '--base-dn', SUFFIX],
      ['directories', 'add', 'corp', '--url', ldap.url, '--bind-dn', READER_DN, '--password-file', '/nonexistent', '--base-dn', SUFFIX],
      ['directories', 'add', 'corp', '--url', ldap.url, '--bind-dn', READER_DN, '--password-file', pwFile, '--base-dn', SUFFIX, '--sync-every', '1s'],
    ]) {
      const r = await cli(args);
      expect(r.code, r.err).toBe(2);
    }
    expect((await admin.ok('GET', '/directories')).items).toEqual([]);
    const r = await cli(['directories', 'add', 'corp', '--url', ldap.url, '--bind-dn', READER_DN, '--password-file', pwFile, '--base-dn', SUFFIX]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Added directory 'corp'; its groups sync every 15m.");
    const t = await cli(['directories', 'test', 'corp']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain(`${5 + BULK} computer objects under the base DN`);
    // A new directory is due at once: the scheduler's next tick (every 5 s) syncs it
    // by itself and sets the next sync an interval on. Waited for here, so that no
    // periodic sync falls among the later steps, which sync when they choose.
    await waitFor('the first periodic sync of corp', async () => (await corp()).lastSync?.ok === true, 30_000, 100);
    const c = await corp();
    expect(c.lastSync.counts).toMatchObject({ groups: 0, added: 0, removed: 0 });
    expect(Date.parse(c.nextSyncAt) - Date.parse(c.lastSync.at)).toBeGreaterThanOrEqual(14 * 60_000);
  // Seven devlic-admin runs: on a busy machine each takes seconds to start.
  }, 120_000);

  it('fills a directory group from the directory: nested groups and a cycle followed, matched by dNSHostName, its first label or cn; a hostname two devices report goes to neither', async () => {
    const r = await cli(['groups', 'create', 'Shared laptops', '--directory', 'corp', '--dn', SHARED, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ name: 'Shared laptops', rule: null, directory: { name: 'corp', dn: SHARED } });
    // LAB-01 by the first label of its dNSHostName, lab-02 by cn (in the nested group), kiosk-7.corp.example by the full dNSHostName.
    expect(await members('Shared laptops')).toEqual(['LAB-01', 'kiosk-7.corp.example', 'lab-02']);
    const c = (await corp()).lastSync;
    expect(c).toMatchObject({ ok: true, error: null, counts: { groups: 1, directoryGroups: 2, computers: 5, matched: 3, unmatched: 1, ambiguous: 1, added: 3, removed: 0 } });
    const show = await cli(['groups', 'show', 'Shared laptops']);
    expect(show.out).toMatch(/Directory:\s+CN=Shared laptops, OU=groups,DC=EXAMPLE,DC=TEST in corp/);
    expect(show.out).toMatch(/LAB-01\s+directory/);
    const sync = await cli(['directories', 'sync', 'corp']);
    expect(sync.code, sync.err).toBe(0);
    expect(sync.out).toContain('Synced: 0 added, 0 removed');
    expect(sync.out).toMatch(/Ambiguous .*\n.*\n.*cn=twin,ou=computers,dc=example,dc=test\s+twin\s+dev_\w+ dev_\w+/);
  }, 120_000);

  it('refuses hand edits of a directory group (exit 2 in devlic-admin, 409 in the API)', async () => {
    const add = await cli(['groups', 'add-devices', 'Shared laptops', 'office-01']);
    expect(add.code).toBe(2);
    expect(add.err).toContain('[GROUP_IS_DIRECTORY_BASED]');
    const remove = await admin.post('/groups/Shared%20laptops/devices/remove', { devices: ['LAB-01'], confirm: true });
    expect([remove.status, remove.body.error.code]).toEqual([409, 'GROUP_IS_DIRECTORY_BASED']);
    const rule = await cli(['groups', 'update', 'Shared laptops', '--rule', 'os == "x"', '--yes']);
    expect(rule.code).toBe(2);
    expect(rule.err).toContain('[GROUP_IS_DIRECTORY_BASED]');
    expect(await members('Shared laptops')).toHaveLength(3);
  });

  it('moves seats when the directory changes: a computer renamed to another device and a member removed, at the next sync, told to waiting agents', async () => {
    const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 10, name: 'Shared seats' });
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Shared laptops' });
    expect([await status('lab-01'), await status('office-01')]).toEqual(['licensed', 'unlicensed']);
    await ldap.modify([
      `dn: ${computerDn('spare')}\nchangetype: modify\nreplace: dNSHostName\ndNSHostName: office-01.corp.example\n`,
      `dn: cn=Shared laptops,ou=groups,${SUFFIX}\nchangetype: modify\ndelete: member\nmember: ${computerDn('lab-01')}\n`,
    ].join('\n'));
    // Nothing moves until the directory is synced.
    expect(await members('Shared laptops')).toEqual(['LAB-01', 'kiosk-7.corp.example', 'lab-02']);
    const etag = (await dev['lab-01']!.entitlement()).etag!;
    const waiting = dev['lab-01']!.entitlement({ etag, wait: 20 });
    const sync = await cli(['directories', 'sync', 'corp']);
    expect(sync.code, sync.err).toBe(0);
    expect(sync.out).toContain('Synced: 1 added, 1 removed');
    const woken = await waiting;
    expect(woken.status).toBe(200);
    expect(claimsOf(woken.body.token)).toMatchObject({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(await status('office-01')).toBe('licensed');
    expect(await members('Shared laptops')).toEqual(['kiosk-7.corp.example', 'lab-02', 'office-01']);
  });

  it('takes the one device left when a duplicate hostname is resolved by retiring the other record, at once', async () => {
    await admin.ok('POST', `/devices/${dev['twin-b']!.deviceId}/retire`, { confirm: true });
    // Matched against what the last sync read, in the retirement's transaction (service/directories/place.ts).
    expect(await members('Shared laptops')).toContain('twin');
    expect(await status('twin-a')).toBe('licensed');
    await admin.ok('POST', '/directories/corp/sync', {});
    expect((await corp()).lastSync.counts).toMatchObject({ ambiguous: 0, added: 0, removed: 0 });
    expect(await members('Shared laptops')).toContain('twin');
  });

  it('a wrong bind password changes nothing; the error is shown by `directories list` and the sync exits 1', async () => {
    const before = await members('Shared laptops');
    const goodCounts = (await corp()).lastSync.counts;
    await ldap.modify(`dn: ${READER_DN}\nchangetype: modify\nreplace: userPassword\nuserPassword: rotated-elsewhere\n`);
    await ldap.modify(`dn: cn=Shared laptops,ou=groups,${SUFFIX}\nchangetype: modify\ndelete: member\nmember: ${computerDn('kiosk-7')}\n`);
    const sync = await cli(['directories', 'sync', 'corp']);
    expect(sync.code).toBe(1);
    expect(sync.err).toContain(`refused the bind as '${READER_DN}': invalid credentials; nothing was changed [DIRECTORY_FAILED]`);
    expect(await members('Shared laptops')).toEqual(before);
    expect(await status('kiosk-7')).toBe('licensed');
    const list = await cli(['directories', 'list']);
    expect(list.out).toMatch(/corp .* FAILED/);
    expect(list.out).toContain('Last sync failed (no membership was changed):\n  corp: the directory at');
    expect((await corp()).lastSync).toMatchObject({ ok: false, error: expect.stringContaining('invalid credentials'), counts: goodCounts });
    await ldap.modify(`dn: ${READER_DN}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${ldap.readerPassword}\n`);
    await admin.ok('POST', '/directories/corp/sync', {});
    expect(await members('Shared laptops')).toEqual(['lab-02', 'office-01', 'twin']);
    expect((await corp()).lastSync).toMatchObject({ ok: true, error: null });
  });

  it('a directory that is down changes nothing and is reported; the next sync after it is back applies', async () => {
    const before = await members('Shared laptops');
    await ldap.pause();
    try {
      const r = await admin.post('/directories/corp/sync', {});
      expect([r.status, r.body.error.code]).toEqual([502, 'DIRECTORY_FAILED']);
      expect(r.body.error.message).toContain(`cannot reach the directory at ${ldap.url}: connection refused`);
      expect(await members('Shared laptops')).toEqual(before);
      expect((await corp()).lastSync).toMatchObject({ ok: false, error: expect.stringContaining('connection refused') });
    } finally {
      await ldap.resume();
    }
    await admin.ok('POST', '/directories/corp/sync', {});
    expect((await corp()).lastSync.ok).toBe(true);
  });

  it(`pages through a group of ${BULK} computer objects (a non-paged search stops at 500)`, async () => {
    const r = await cli(['groups', 'create', 'Bulk', '--directory', 'corp', '--dn', groupDn('Bulk'), '--json']);
    expect(r.code, r.err).toBe(0);
    expect(await members('Bulk')).toEqual(['bulk-1150']);
    const c = (await corp()).lastSync.counts;
    // Shared laptops: lab-02, spare (office-01), twin; Bulk: 1,200, of which one is enrolled.
    expect(c).toMatchObject({ groups: 2, matched: 4, unmatched: BULK - 1, ambiguous: 0 });
    expect(c.computers).toBe(BULK + 3);
    // One bind, pages of 500 for every computer under the base DN, group reads: not a read per member.
    expect(c.queries).toBeLessThan(20);
  });

  it('syncs by itself at the directory\'s interval', async () => {
    const r = await cli(['directories', 'add', 'corp-fast', '--url', ldap.url, '--bind-dn', READER_DN, '--password-file', pwFile, '--base-dn', SUFFIX, '--sync-every', '10s']);
    expect(r.code, r.err).toBe(0);
    expect((await cli(['groups', 'create', 'Fast', '--directory', 'corp-fast', '--dn', groupDn('Lab B')])).code).toBe(0);
    // Lab B lists Shared laptops back (the cycle): its members are Shared laptops' too.
    expect(await members('Fast')).toEqual(['lab-02', 'office-01', 'twin']);
    await ldap.modify(`dn: cn=Lab B,ou=groups,${SUFFIX}\nchangetype: modify\nadd: member\nmember: ${computerDn('kiosk-7')}\n`);
    await waitFor('the periodic sync to take kiosk-7 into Fast', async () => (await members('Fast')).includes('kiosk-7.corp.example'), 60_000, 500);
    const audit = (await admin.ok('GET', '/audit?action=directory.sync')).items;
    // The periodic sync is audited as the service itself, and only when it moved a member.
    expect(audit.find((e: any) => e.actor.id === 'system')).toMatchObject({ target: expect.stringMatching(/^dir_/), details: { name: 'corp-fast', added: 1, removed: 0 } });
  });

  it('is global-admin only for changes, and refuses to remove a directory a group follows', async () => {
    const reader = await admin.ok('POST', '/admins', { role: 'reader', name: 'viewer' });
    const ro = adminClient(svc.url, reader.token);
    expect((await ro.get('/directories')).status).toBe(200);
    const add = await ro.post('/directories', { name: 'x', url: ldap.url, bindDn: READER_DN, password: 'p', baseDn: SUFFIX });
    expect([add.status, add.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await ro.post('/directories/corp/sync', {})).status).toBe(403);
    const rm = await cli(['directories', 'remove', 'corp']);
    expect(rm.code).toBe(1);
    expect(rm.err).toContain('[DIRECTORY_IN_USE]');
  });

  it('never shows, audits, logs or stores the bind password in clear', async () => {
    const pw = ldap.readerPassword;
    const everything = [
      JSON.stringify(await admin.ok('GET', '/directories')),
      (await cli(['directories', 'list', '--json'])).out,
      JSON.stringify(await admin.ok('GET', '/audit?limit=500')),
      svc.output(),
    ];
    expect(everything[2]).toContain('directory.add');
    expect(svc.output()).toContain('directory synced');
    for (const text of everything) expect(text).not.toContain(pw);
    const db = await openServiceDatabase(svc);
    try {
      const rows = await db.all<{ bind_password: string }>('SELECT bind_password FROM directories');
      expect(rows).toHaveLength(2);
      for (const r of rows) {
        expect(r.bind_password.startsWith('enc:v1:')).toBe(true);
        expect(r.bind_password).not.toContain(pw);
      }
    } finally {
      await db.close();
    }
    if (TEST_BACKEND === 'sqlite') {
      for (const f of ['devlic.db', 'devlic.db-wal']) {
        try { expect(readFileSync(join(svc.dataDir, f)).includes(Buffer.from(pw))).toBe(false); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
      }
    }
  });
});
