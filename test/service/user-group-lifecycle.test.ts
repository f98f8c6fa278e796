// Renaming and deleting user groups (the lifecycle device groups already had),
// through the real admin API and devlic-admin against a real devlic-server
// (SQLite, and PostgreSQL in the integration-pg project): a rename keeps the
// id, members and licence; a delete is refused while a licence is assigned
// and changes nothing then; readers are refused; the audit log keeps the
// deleted group's name; names stay unique.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, runAdminCli, type AdminClient } from '../helpers/admin.ts';

let svc: ServiceProcess;
let admin: AdminClient;
let reader: AdminClient;

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  const r = await admin.ok('POST', '/admins', { name: 'Auditor', role: 'reader' });
  reader = adminClient(svc.url, r.token);
});
afterAll(async () => { await svc?.stop(); });

const cli = (args: string[]) => runAdminCli(svc, args);

describe('user group rename', () => {
  it('renames a licensed group: same id, members and licence; the old name no longer resolves', async () => {
    const g = await admin.ok('POST', '/user-groups', { name: 'Teachers' });
    await admin.ok('POST', `/user-groups/${g.id}/users`, { users: ['alice@school', 'bob@school'] });
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 1, name: 'Staff seats' });
    await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff seats', userGroup: 'Teachers' });
    const before = await admin.ok('GET', '/users/alice@school/license');

    const after = await admin.ok('PATCH', '/user-groups/Teachers', { name: 'Staff room' });
    expect(after).toMatchObject({ id: g.id, name: 'Staff room', memberCount: 2, subscription: { name: 'Staff seats' } });
    // Nobody's answer moved: a rename is not a licence change.
    expect(await admin.ok('GET', '/users/alice@school/license')).toEqual(before);
    expect((await admin.call('GET', '/user-groups/Teachers')).status).toBe(404);
    expect((await admin.ok('GET', `/user-groups/${g.id}`)).name).toBe('Staff room');
  });

  it('refuses a name another user group has (any case) and changes nothing', async () => {
    await admin.ok('POST', '/user-groups', { name: 'Lab helpers' });
    const r = await admin.call('PATCH', '/user-groups/Lab helpers', { name: 'staff ROOM' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('NAME_TAKEN');
    expect((await admin.ok('GET', '/user-groups/Lab helpers')).name).toBe('Lab helpers');
    // Its own name in another case is fine.
    expect((await admin.ok('PATCH', '/user-groups/Lab helpers', { name: 'LAB helpers' })).name).toBe('LAB helpers');
  });

  it('refuses an empty or oversized name with 400', async () => {
    for (const name of ['', 'x'.repeat(500)]) {
      const r = await admin.call('PATCH', '/user-groups/LAB helpers', { name });
      expect(r.status).toBe(400);
    }
    expect((await admin.ok('GET', '/user-groups/LAB helpers')).name).toBe('LAB helpers');
  });
});

describe('user group delete', () => {
  it('refuses to delete a group that holds a licence, with GROUP_HAS_LICENSES, and deletes nothing', async () => {
    const r = await admin.call('DELETE', '/user-groups/Staff room');
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('GROUP_HAS_LICENSES');
    expect(r.body.error.message).toContain("'Staff seats'");
    const g = await admin.ok('GET', '/user-groups/Staff room');
    expect(g.memberCount).toBe(2);
    expect((await admin.ok('GET', '/users/alice@school/license')).status).toBe('licensed');
  });

  it('deletes it once unassigned: its members go, the people themselves stay answerable, the name is free again', async () => {
    const g = await admin.ok('GET', '/user-groups/Staff room');
    await admin.ok('POST', '/user-licenses/unassign', { subscription: 'Staff seats', userGroup: 'Staff room', confirm: true });
    const d = await admin.ok('DELETE', '/user-groups/Staff room');
    expect(d).toEqual({ id: g.id, name: 'Staff room', deleted: true });
    expect((await admin.call('GET', `/user-groups/${g.id}`)).status).toBe(404);
    expect((await admin.ok('GET', '/user-groups')).items.map((x: any) => x.name)).not.toContain('Staff room');
    expect((await admin.ok('GET', '/users/alice@school/license')).status).toBe('unlicensed');
    // A new group may take the name, and starts empty (no members left behind under the old id).
    const again = await admin.ok('POST', '/user-groups', { name: 'Staff room' });
    expect(again.id).not.toBe(g.id);
    expect(again.memberCount).toBe(0);
  });

  it('keeps the deleted group\'s name in the audit log', async () => {
    const log = await admin.ok('GET', '/audit?action=user-group.delete');
    const e = log.items[0];
    expect(e).toMatchObject({ action: 'user-group.delete', targetName: 'Staff room', details: { name: 'Staff room', members: 2 } });
    // Earlier events about the deleted group still read as its name.
    const renamed = (await admin.ok('GET', '/audit?action=user-group.rename')).items.find((x: any) => x.target === e.target);
    expect(renamed).toMatchObject({ targetName: 'Staff room', details: { before: { name: 'Teachers' }, after: { name: 'Staff room' } } });
  });

  it('answers 404 for a group that does not exist', async () => {
    const r = await admin.call('DELETE', '/user-groups/No such group');
    expect(r.status).toBe(404);
  });
});

describe('who may', () => {
  it('refuses a reader\'s rename and delete with 403 and changes nothing', async () => {
    await admin.ok('POST', '/user-groups', { name: 'Readers cannot' });
    expect((await reader.call('PATCH', '/user-groups/Readers cannot', { name: 'Renamed' })).status).toBe(403);
    expect((await reader.call('DELETE', '/user-groups/Readers cannot')).status).toBe(403);
    expect((await admin.ok('GET', '/user-groups/Readers cannot')).name).toBe('Readers cannot');
  });
});

describe('devlic-admin user-groups rename / delete', () => {
  it('renames and deletes, and says why a licensed group cannot be deleted', async () => {
    expect((await cli(['user-groups', 'create', 'Night shift'])).code).toBe(0);
    const ren = await cli(['user-groups', 'rename', 'Night shift', 'Late shift']);
    expect(ren.code, ren.err).toBe(0);
    expect(ren.out).toContain("Renamed the user group to 'Late shift'.");
    expect((await cli(['licenses', 'assign', '--subscription', 'Staff seats', '--user-group', 'Late shift'])).code).toBe(0);
    const refused = await cli(['user-groups', 'delete', 'Late shift']);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('GROUP_HAS_LICENSES');
    expect((await cli(['licenses', 'unassign', '--subscription', 'Staff seats', '--user-group', 'Late shift', '--yes'])).code).toBe(0);
    const del = await cli(['user-groups', 'delete', 'Late shift']);
    expect(del.code, del.err).toBe(0);
    expect(del.out).toMatch(/^Deleted user group 'Late shift' \(ugr_/);
    expect((await cli(['user-groups', 'show', 'Late shift'])).code).not.toBe(0);
  });
});
