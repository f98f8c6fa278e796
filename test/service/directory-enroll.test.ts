// A device joins its directory group when it enrolls, not at the next sync
// (issue 14), against a REAL OpenLDAP (test/helpers/slapd.ts): matched in
// the enrollment's own transaction against what the last sync read, with
// the sync's rules (dNSHostName, its first label, cn; a hostname two devices
// report matches neither). Re-enrolling under another hostname, retiring and
// restoring, and an admin's merge move it at once too. A computer added to the directory after
// the last sync still waits for the next one: the directory is not asked at
// enrollment. The periodic sync is set to 24 h so that nothing here is done
// by it. On SQLite and (project integration-pg) PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { publicJwk } from '../../shared/token.ts';
import { signEnrollProof } from '../../shared/device-proofs.ts';
import { TEST_BACKEND } from '../helpers/test-backend.ts';
import { READER_DN, SLAPD_MISSING, SLAPD_REQUIRED, SUFFIX, computerDn, computerLdif, groupDn, groupLdif, startSlapd, type Slapd } from '../helpers/slapd.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
let ldap: Slapd;
let svc: ServiceProcess;
let admin: AdminClient;
let group = '';
let token = '';
const dev: Record<string, SimDevice> = {};

const members = async () => (await admin.ok('GET', `/groups/${group}`)).members.map((m: any) => `${m.name}:${m.why}`).sort();
const status = async (key: string) => claimsOf((await dev[key]!.entitlement()).body.token).status;
const lastSyncAt = async () => (await admin.ok('GET', '/directories/corp')).lastSync.at;

async function enroll(key: string, hostname: string): Promise<void> {
  const d = new SimDevice(svc.url, fakeFacts(hostname));
  const r = await d.enroll(token);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  dev[key] = d;
}

/** Enrolls again with a proof from the old key (a reinstall keeping its id), under another hostname. */
async function reenroll(key: string, hostname: string): Promise<void> {
  const old = dev[key]!;
  const next = new SimDevice(svc.url, { ...old.facts, hostname });
  const proof = await signEnrollProof(old.privateKey, old.deviceId, await publicJwk(next.publicKey), Math.floor(Date.now() / 1000));
  const r = await next.enroll(token, { proof });
  expect([r.status, r.body.reenrolled]).toEqual([201, true]);
  dev[key] = next;
}

const run = !SLAPD_MISSING || SLAPD_REQUIRED;

beforeAll(async () => {
  if (!run) return;
  ldap = await startSlapd([
    computerLdif('new-01', 'new-01.corp.example'), computerLdif('twin'), computerLdif('lab-07', 'lab-07.corp.example'),
    groupLdif('Shared laptops', [computerDn('new-01'), computerDn('twin'), computerDn('lab-07')]),
  ].join('\n'));
  svc = await startService({ config: { enrollPerMinute: 1000 } });
  admin = adminClient(svc.url, svc.adminToken);
  await admin.ok('POST', '/directories', { name: 'corp', url: ldap.url, bindDn: READER_DN, password: ldap.readerPassword, baseDn: SUFFIX, syncSeconds: 86_400 });
  // A new directory's first periodic sync is due at once (the scheduler looks every 5 s): let it run now, so that it
  // cannot fall between a change in the directory and the test's own sync below.
  await waitFor('the first periodic sync of corp', async () => (await admin.ok('GET', '/directories/corp')).lastSync !== null, 60_000, 200);
  group = (await admin.ok('POST', '/groups', { name: 'Shared laptops', directory: 'corp', dn: groupDn('Shared laptops') })).id;
  const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 10, name: 'Shared seats' });
  await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group });
  token = (await admin.ok('POST', '/enroll-tokens', { uses: 50 })).token;
}, 120_000);
afterAll(async () => { await svc?.stop(); await ldap?.stop(); });

describe.skipIf(!run)(`a device joins its directory group when it enrolls (${TEST_BACKEND})`, () => {
  it('joins at enrollment, licensed at once, with no sync run (matched by the first label of dNSHostName, ignoring case)', async () => {
    const synced = await lastSyncAt();
    expect(await members()).toEqual([]);
    await enroll('new', 'NEW-01');
    expect(await members()).toEqual(['NEW-01:directory']);
    expect(await status('new')).toBe('licensed');
    expect(await lastSyncAt()).toBe(synced);
    const e = (await admin.ok('GET', '/audit?action=device.enroll')).items.find((x: any) => x.target === dev.new!.deviceId);
    expect(e.details.directoryMembers).toEqual({ added: 1, removed: 0 });
    // A hostname no computer has: no directory group is touched.
    await enroll('office', 'office-9');
    expect(await members()).toEqual(['NEW-01:directory']);
    expect((await admin.ok('GET', '/audit?action=device.enroll')).items.find((x: any) => x.target === dev.office!.deviceId).details.directoryMembers).toBeUndefined();
  });

  it('a second device reporting the same hostname makes the computer ambiguous at once: neither holds it', async () => {
    await enroll('twin-a', 'twin');
    expect(await members()).toEqual(['NEW-01:directory', 'twin:directory']);
    expect(await status('twin-a')).toBe('licensed');
    await enroll('twin-b', 'twin');
    expect(await members()).toEqual(['NEW-01:directory']);
    expect([await status('twin-a'), await status('twin-b')]).toEqual(['unlicensed', 'unlicensed']);
    // The sync agrees: it reports the same computer as ambiguous and moves nothing.
    const s = await admin.ok('POST', '/directories/corp/sync', {});
    expect(s.ambiguous.map((a: any) => a.hostname)).toEqual(['twin']);
    expect(s.directory.lastSync.counts).toMatchObject({ added: 0, removed: 0 });
  });

  it('retiring the stale twin gives the computer to the other at once; restoring it makes it ambiguous again', async () => {
    await admin.ok('POST', `/devices/${dev['twin-b']!.deviceId}/retire`, { confirm: true });
    expect(await members()).toEqual(['NEW-01:directory', 'twin:directory']);
    expect(await status('twin-a')).toBe('licensed');
    await admin.ok('POST', `/devices/${dev['twin-b']!.deviceId}/restore`, { confirm: true });
    expect(await members()).toEqual(['NEW-01:directory']);
    await admin.ok('POST', `/devices/${dev['twin-b']!.deviceId}/retire`, { confirm: true });
    expect(await members()).toEqual(['NEW-01:directory', 'twin:directory']);
  });

  it('re-enrolling under another hostname moves the device at once: out of the group, or into it', async () => {
    await reenroll('new', 'spare-3');
    expect(await members()).toEqual(['twin:directory']);
    expect(await status('new')).toBe('unlicensed');
    await reenroll('office', 'lab-07.corp.example');
    expect(await members()).toEqual(['lab-07.corp.example:directory', 'twin:directory']);
    expect(await status('office')).toBe('licensed');
  });

  it('a reinstalled machine (new key, same hostname) makes its computer ambiguous; merging it back gives the computer to the old id at once', async () => {
    // 'office' holds lab-07 since the test above. Its disk is wiped: the new agent has no proof and enrolls as a new record.
    const wiped = new SimDevice(svc.url, { ...dev.office!.facts });
    expect((await wiped.enroll(token)).status).toBe(201);
    dev['office-new'] = wiped;
    const [into, from] = [dev.office!.deviceId, dev['office-new']!.deviceId];
    expect((await admin.ok('GET', `/devices/${from}`)).duplicateOf?.id).toBe(into);
    expect(await members()).toEqual(['twin:directory']);
    await admin.ok('POST', `/devices/${into}/merge`, { from });
    // The merge retires the new record and gives its facts to the old id: lab-07 has one device again, with no sync run.
    expect(await members()).toEqual(['lab-07.corp.example:directory', 'twin:directory']);
    const old = await admin.ok('GET', `/devices/${into}`);
    expect([old.licensed, old.groups.map((g: any) => g.id)]).toEqual([true, [group]]);
  });

  it('a computer added in the directory after the last sync waits for the next sync (the directory is not asked at enrollment)', async () => {
    await ldap.modify(`dn: ${computerDn('late-01')}\nobjectClass: computer\ncn: late-01\n`, { add: true });
    await ldap.modify(`dn: ${groupDn('Shared laptops')}\nchangetype: modify\nadd: member\nmember: ${computerDn('late-01')}\n`);
    await enroll('late', 'late-01');
    expect(await members()).toEqual(['lab-07.corp.example:directory', 'twin:directory']);
    await admin.ok('POST', '/directories/corp/sync', {});
    expect(await members()).toEqual(['lab-07.corp.example:directory', 'late-01:directory', 'twin:directory']);
    // What that sync read is used from now on: the next device under that name is matched at once (and makes it ambiguous).
    await enroll('late-2', 'LATE-01');
    expect(await members()).toEqual(['lab-07.corp.example:directory', 'twin:directory']);
  });
});
