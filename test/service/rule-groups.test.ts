// Rule-based groups (issue 14) through a real devlic-server and the real
// devlic-admin: a bad rule is refused with its column (exit 2, nothing
// created), members follow the rule on creation, on enrollment and when a
// reported fact changes (with the seat), hand edits of a rule group are
// refused (exit 2), and `groups show` says why each device is a member.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient, runAdminCli } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const REPORT = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: [], lastError: null, cacheExpiresAt: null, entitlementSeq: null };
let svc: ServiceProcess;
let admin: AdminClient;
const dev: Record<string, SimDevice> = {};

const cli = (args: string[], env: Record<string, string> = {}) => runAdminCli(svc, args, env);

async function enroll(name: string, os: string): Promise<SimDevice> {
  const t = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
  const d = new SimDevice(svc.url, fakeFacts(name, { os }));
  expect((await d.enroll(t.token)).status).toBe(201);
  dev[name] = d;
  return d;
}

async function status(name: string): Promise<string> {
  const r = await dev[name]!.entitlement();
  expect(r.status).toBe(200);
  return claimsOf(r.body.token).status;
}

async function members(group: string): Promise<{ name: string; why: string }[]> {
  return (await admin.ok('GET', `/groups/${encodeURIComponent(group)}`)).members.map((m: any) => ({ name: m.name, why: m.why }))
    .sort((a: any, b: any) => a.name.localeCompare(b.name));
}

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  await enroll('lab-01', 'Windows');
  await enroll('lab-02', 'Windows');
  await enroll('office-01', 'macOS');
});
afterAll(async () => { await svc?.stop(); });

describe('rule-based groups', () => {
  it('refuses a bad rule with its column: devlic-admin exits 2 before sending, the API answers 400 RULE_INVALID, nothing is created', async () => {
    const before = await admin.ok('GET', '/groups');
    const r = await cli(['groups', 'create', 'Broken', '--rule', 'hostname like']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("rule: expected a value after 'like' at 14 [RULE_INVALID]");
    const api = await admin.post('/groups', { name: 'Broken', rule: 'os == "a" and' });
    expect([api.status, api.body.error.code]).toEqual([400, 'RULE_INVALID']);
    expect(api.body.error.message).toMatch(/^rule: expected a fact .* at 14$/);
    expect(await admin.ok('GET', '/groups')).toEqual(before);
  });

  it('previews a rule: how many devices in service it matches, nothing created', async () => {
    const before = await admin.ok('GET', '/groups');
    const p = await admin.ok('POST', '/groups/preview', { rule: 'os == "windows"' });
    expect(p).toMatchObject({ matches: 2, of: 3 });
    expect(p.sample.map((d: any) => d.name)).toEqual(['lab-01', 'lab-02']);
    const t = await cli(['groups', 'preview', '--rule', 'not os == "windows"']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain('This rule matches 1 of 3 devices in service.');
    expect(t.out).toMatch(/office-01/);
    const bad = await admin.post('/groups/preview', { rule: 'os like' });
    expect([bad.status, bad.body.error.message]).toEqual([400, "rule: expected a value after 'like' at 8"]);
    expect(await admin.ok('GET', '/groups')).toEqual(before);
  });

  it('creates a rule group whose members are the matching devices, licenses them, and refuses hand edits (exit 2)', async () => {
    const r = await cli(['groups', 'create', 'Lab', '--rule', 'hostname like "LAB-*" and os in ["Windows", "Linux"]', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ name: 'Lab', rule: 'hostname like "LAB-*" and os in ["Windows", "Linux"]', deviceCount: 2 });
    expect(await members('Lab')).toEqual([{ name: 'lab-01', why: 'rule' }, { name: 'lab-02', why: 'rule' }]);
    const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 10, name: 'Lab seats' });
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Lab' });
    expect([await status('lab-01'), await status('lab-02'), await status('office-01')]).toEqual(['licensed', 'licensed', 'unlicensed']);

    const add = await cli(['groups', 'add-devices', 'Lab', 'office-01']);
    expect(add.code).toBe(2);
    expect(add.err).toContain('[GROUP_IS_RULE_BASED]');
    const remove = await admin.post('/groups/Lab/devices/remove', { devices: ['lab-01'], confirm: true });
    expect([remove.status, remove.body.error.code]).toEqual([409, 'GROUP_IS_RULE_BASED']);
    expect(await members('Lab')).toHaveLength(2);

    const show = await cli(['groups', 'show', 'Lab']);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toMatch(/Rule:\s+hostname like "LAB-\*"/);
    expect(show.out).toMatch(/lab-01\s+rule/);
  });

  it('places a device that enrolls with a token without a group', async () => {
    await enroll('lab-03', 'Linux');
    expect(await members('Lab')).toContainEqual({ name: 'lab-03', why: 'rule' });
    expect(await status('lab-03')).toBe('licensed');
  });

  it('a changed rule and a changed reported fact move members and seats', async () => {
    for (const n of ['lab-01', 'lab-02', 'lab-03']) expect(await dev[n]!.report({ ...REPORT, agentVersion: '1.0.0' })).toBe(204);
    // Narrowing the rule takes no seat here (every lab device reports 1.0.0), so no confirmation is needed.
    const u = await cli(['groups', 'update', 'Lab', '--rule', 'hostname like "lab-*" and agentVersion == "1.0.0"', '--json']);
    expect(u.code, u.err).toBe(0);
    expect(await members('Lab')).toEqual(['lab-01', 'lab-02', 'lab-03'].map((name) => ({ name, why: 'rule' })));

    // lab-02's agent is downgraded: its facts stop matching and the seat goes (agents are told as usual).
    const etag = (await dev['lab-02']!.entitlement()).etag!;
    expect(await dev['lab-02']!.report({ ...REPORT, agentVersion: '0.9.0' })).toBe(204);
    const woken = await dev['lab-02']!.entitlement({ etag, wait: 10 });
    expect(woken.status).toBe(200);
    expect(claimsOf(woken.body.token)).toMatchObject({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(await members('Lab')).toEqual([{ name: 'lab-01', why: 'rule' }, { name: 'lab-03', why: 'rule' }]);
    expect(await status('lab-01')).toBe('licensed');

    // A rule change that would take seats is guarded like any other change: without --yes nothing changes.
    const guarded = await cli(['groups', 'update', 'Lab', '--rule', 'hostname == "lab-01"']);
    expect(guarded.code).toBe(2);
    expect(await members('Lab')).toHaveLength(2);
    const yes = await cli(['groups', 'update', 'Lab', '--rule', 'hostname == "lab-01"', '--yes']);
    expect(yes.code, yes.err).toBe(0);
    await waitFor('lab-03 loses its seat', async () => (await status('lab-03')) === 'unlicensed');
    expect(await members('Lab')).toEqual([{ name: 'lab-01', why: 'rule' }]);
  });

  it('devices tag/untag: a tag rule takes the device in and lets it go with its seat; bad tags are refused', async () => {
    const g = await cli(['groups', 'create', 'Kiosks', '--rule', 'tags == "kiosk"', '--json']);
    expect(g.code, g.err).toBe(0);
    expect(JSON.parse(g.out).deviceCount).toBe(0);
    const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'Kiosk seats' });
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Kiosks' });
    expect(await status('office-01')).toBe('unlicensed');
    const t = await cli(['devices', 'tag', 'office-01', 'KIOSK', 'floor-2', '--json']);
    expect(t.code, t.err).toBe(0);
    expect(JSON.parse(t.out).tags).toEqual(['floor-2', 'kiosk']);
    expect(await members('Kiosks')).toEqual([{ name: 'office-01', why: 'rule' }]);
    expect(await status('office-01')).toBe('licensed');
    const bad = await admin.post('/devices/office-01/tags', { tags: ['no spaces'] });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    // Untagging takes the seat: guarded, then done with --yes.
    expect((await cli(['devices', 'untag', 'office-01', 'kiosk'])).code).toBe(2);
    expect(await status('office-01')).toBe('licensed');
    const u = await cli(['devices', 'untag', 'office-01', 'kiosk', '--yes', '--json']);
    expect(u.code, u.err).toBe(0);
    expect(JSON.parse(u.out).tags).toEqual(['floor-2']);
    expect(await members('Kiosks')).toEqual([]);
    expect(await status('office-01')).toBe('unlicensed');
  });

  it('osVersion: a reported OS version places the device and moves its seat; a report without the field (older agent) keeps it', async () => {
    const g = await cli(['groups', 'create', 'Win11', '--rule', 'osVersion like "10.0.22*"', '--json']);
    expect(g.code, g.err).toBe(0);
    expect(JSON.parse(g.out).deviceCount).toBe(0);
    const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: 'Win11 seats' });
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Win11' });
    await enroll('win-01', 'Windows');
    expect(await status('win-01')).toBe('unlicensed');
    const etag = (await dev['win-01']!.entitlement()).etag!;
    expect(await dev['win-01']!.report({ ...REPORT, agentVersion: '1.0.0', osVersion: '10.0.22631' })).toBe(204);
    const woken = await dev['win-01']!.entitlement({ etag, wait: 10 });
    expect(claimsOf(woken.body.token)).toMatchObject({ status: 'licensed', reason: 'ASSIGNED' });
    expect(await members('Win11')).toEqual([{ name: 'win-01', why: 'rule' }]);
    expect((await admin.ok('GET', '/devices/win-01')).osVersion).toBe('10.0.22631');
    const p = await admin.ok('POST', '/groups/preview', { rule: 'osVersion == "10.0.22631"' });
    expect(p.sample.map((d: any) => d.name)).toEqual(['win-01']);

    // An agent without the field (older) says nothing about the OS version: the stored one stays, so does the seat.
    expect(await dev['win-01']!.report({ ...REPORT, agentVersion: '0.9.0' })).toBe(204);
    expect((await admin.ok('GET', '/devices/win-01')).osVersion).toBe('10.0.22631');
    expect(await members('Win11')).toEqual([{ name: 'win-01', why: 'rule' }]);

    // Another version stops matching: the device leaves with its seat (no confirm: a report is not an admin change).
    expect(await dev['win-01']!.report({ ...REPORT, agentVersion: '0.9.0', osVersion: '10.0.19045' })).toBe(204);
    await waitFor('win-01 loses its seat', async () => (await status('win-01')) === 'unlicensed');
    expect(await members('Win11')).toEqual([]);
    const show = await cli(['devices', 'show', 'win-01']);
    expect(show.out).toMatch(/OS version: +10\.0\.19045/);
    const tooLong = await dev['win-01']!.report({ ...REPORT, agentVersion: '0.9.0', osVersion: 'x'.repeat(129) });
    expect(tooLong).toBe(400);
    // A field this service does not know (a newer agent's) is dropped, the report accepted: the facts it knows stay.
    expect(await dev['win-01']!.report({ ...REPORT, agentVersion: '0.9.0', osBuild: '22631' })).toBe(204);
    expect((await admin.ok('GET', '/devices/win-01')).osVersion).toBe('10.0.19045');
    expect(await members('Win11')).toEqual([]);
  });

  it('groups update --no-rule: back to manual, the members stay (said so), audited; hand edits work again; bad usage exits 2', async () => {
    expect(await members('Lab')).toEqual([{ name: 'lab-01', why: 'rule' }]);
    const both = await cli(['groups', 'update', 'Lab', '--no-rule', '--rule', 'os == "x"']);
    expect([both.code, both.err]).toEqual([2, expect.stringContaining('either --rule EXPR or --no-rule')]);
    const neither = await cli(['groups', 'update', 'Lab']);
    expect(neither.code).toBe(2);
    const r = await cli(['groups', 'update', 'Lab', '--no-rule']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Removed the rule of group 'Lab': its current members stay, now as manual members");
    expect(r.out).toMatch(/Rule:\s+none \(members added by hand\)/);
    expect(await members('Lab')).toEqual([{ name: 'lab-01', why: 'manual' }]);
    expect(await status('lab-01')).toBe('licensed');
    const ev = (await admin.ok('GET', '/audit?action=group.clear-rule&limit=1')).items[0];
    expect(ev).toMatchObject({ targetName: 'Lab', details: { before: { rule: 'hostname == "lab-01"' }, after: { rule: null }, keptAsManual: 1 } });
    // A manual group again: hand edits are accepted.
    expect((await cli(['groups', 'add-devices', 'Lab', 'lab-02'])).code).toBe(0);
    expect(await members('Lab')).toEqual([{ name: 'lab-01', why: 'manual' }, { name: 'lab-02', why: 'manual' }]);
    const again = await admin.post('/groups/Lab/rule', { rule: null });
    expect([again.status, again.body.error.code]).toEqual([409, 'CONFLICT']);
  });

  it('a reader may preview a rule (it reads only) but not create a rule group or change a rule', async () => {
    const reader = await admin.ok('POST', '/admins', { role: 'reader', name: 'rule reader' });
    const as = adminClient(svc.url, reader.token);
    const before = await admin.ok('GET', '/groups');
    const p = await as.post('/groups/preview', { rule: 'hostname like "lab-*"' });
    expect(p.status).toBe(200);
    expect(p.body.matches).toBeGreaterThan(0);
    const bad = await as.post('/groups/preview', { rule: 'hostname like' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'RULE_INVALID']);
    const create = await as.post('/groups', { name: 'ReaderRule', rule: 'os == "x"' });
    expect([create.status, create.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const update = await as.post('/groups/Win11/rule', { rule: 'os == "x"', confirm: true });
    expect([update.status, update.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const clear = await as.post('/groups/Win11/rule', { rule: null });
    expect([clear.status, clear.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect(await admin.ok('GET', '/groups')).toEqual(before);
    // devlic-admin with the reader's token: preview works, update is refused.
    const env = { DEVLIC_ADMIN_TOKEN: reader.token };
    const t = await cli(['groups', 'preview', '--rule', 'hostname like "lab-*"'], env);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/This rule matches \d+ of \d+ devices in service\./);
    const u = await cli(['groups', 'update', 'Win11', '--rule', 'os == "x"', '--yes'], env);
    expect(u.code).not.toBe(0);
    expect(u.err).toContain('FORBIDDEN');
  });

  it('a group without a rule lists its members as manual', async () => {
    await admin.ok('POST', '/groups', { name: 'Hand' });
    await admin.ok('POST', '/groups/Hand/devices', { devices: ['office-01'] });
    expect(await members('Hand')).toEqual([{ name: 'office-01', why: 'manual' }]);
    expect((await admin.ok('GET', '/groups/Hand')).rule).toBeNull();
  });
});
