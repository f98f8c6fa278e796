// devlic-admin's lifecycle commands end to end, typed as an admin would,
// against a real devlic-server process: each command's happy path, its
// refusals (exit 1 with the service's code, exit 2 for usage and for a
// change that would make devices read-only without --yes) and its audit
// event; the interactive y/N on a real terminal (script(1) gives a pty).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';

let svc: ServiceProcess;
let api: AdminClient;
const MAIN = join(ROOT, 'service/admin-cli/main.ts');

function run(cmd: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, DEVLIC_SERVER: svc.url, DEVLIC_ADMIN_TOKEN: svc.adminToken, ...env } });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    if (input !== undefined) p.stdin.end(input); else p.stdin.end();
  });
}
const cli = (args: string[], env: Record<string, string> = {}) => run(NODE, [MAIN, ...args], env);

/** devlic-admin on a pseudo-terminal, answering `answer` to its question. */
function onTerminal(args: string[], answer: string) {
  const quoted = [NODE, MAIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return run('script', ['-qec', quoted, '/dev/null'], {}, `${answer}\n`);
}

async function json(args: string[]): Promise<any> {
  const r = await cli([...args, '--json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

async function lastEvent(action: string): Promise<any> {
  return (await json(['audit', 'list', '--action', action, '--limit', '1']))[0];
}

let devices: SimDevice[] = [];

beforeAll(async () => {
  svc = await startService();
  api = adminClient(svc.url, svc.adminToken);
  await api.ok('POST', '/groups', { name: 'Lab' });
  const t = await api.ok('POST', '/enroll-tokens', { uses: 3, group: 'Lab' });
  for (const n of ['lab-0', 'lab-1', 'lab-2']) {
    const d = new SimDevice(svc.url, fakeFacts(n));
    expect((await d.enroll(t.token)).status).toBe(201);
    devices.push(d);
  }
  await api.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 2, name: 'Lab EA' });
  await api.ok('POST', '/licenses/assign', { subscription: 'Lab EA', group: 'Lab' });
});
afterAll(async () => { await svc?.stop(); });

// Every case spawns devlic-admin several times (one Node start each): on a busy
// 2-core machine the default 30 s came near; the budget is for slow starts.
describe('devlic-admin lifecycle commands', { timeout: 120_000 }, () => {
  it('prints its version like the other two binaries', async () => {
    const r = await cli(['--version']);
    expect([r.code, r.out]).toEqual([0, 'devlic-admin 0.1.0\n']);
  });

  it('has --help for every new command, naming --yes where devices may go read-only', async () => {
    for (const c of ['admins revoke', 'enroll-tokens revoke', 'devices retire', 'devices restore', 'devices delete', 'groups rename', 'groups delete']) {
      const r = await cli([...c.split(' '), '--help']);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toMatch(new RegExp(`Usage: devlic-admin .*${c}`));
    }
    for (const c of ['devices retire', 'groups delete', 'licenses unassign', 'subscriptions update', 'groups remove-devices']) {
      expect((await cli([...c.split(' '), '--help'])).out, c).toMatch(/--yes\s+go ahead even if devices go read-only/);
    }
  });

  it('refuses durations without a unit everywhere (exit 2)', async () => {
    for (const args of [['enroll-tokens', 'create', '--expires', '90'], ['devices', 'list', '--stale', '30']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/needs a unit: 30s|needs a unit: 90s/);
    }
  });

  it('admins: create, list, revoke (audited); the last global-admin is refused', async () => {
    const a = await json(['admins', 'create', '--role', 'reader', '--name', 'intern']);
    const r = await cli(['admins', 'revoke', 'intern']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Revoked the token of admin 'intern'/);
    expect((await cli(['whoami'], { DEVLIC_ADMIN_TOKEN: a.token })).code).toBe(1);
    const list = await cli(['admins', 'list']);
    expect(list.out).toMatch(/intern\s+reader\s+\S+ \S+ UTC\s+\S+ \S+ UTC by bootstrap admin/);
    expect(await lastEvent('admin.revoke')).toMatchObject({ targetName: 'intern' });
    const me = await json(['whoami']);
    const last = await cli(['admins', 'revoke', me.id]);
    expect(last.code).toBe(1);
    expect(last.err).toMatch(/is the last global-admin.*\[LAST_GLOBAL_ADMIN\]/);
    expect(last.err).toMatch(/admins create --role global-admin/);
    // A reader cannot revoke anyone.
    const reader = await json(['admins', 'create', '--role', 'reader']);
    const forbidden = await cli(['admins', 'revoke', me.id], { DEVLIC_ADMIN_TOKEN: reader.token });
    expect(forbidden.code).toBe(1);
    expect(forbidden.err).toMatch(/FORBIDDEN/);
  });

  it('enroll-tokens revoke: listed as revoked, enrolls nothing', async () => {
    const t = await json(['enroll-tokens', 'create', '--expires', '1d']);
    const r = await cli(['enroll-tokens', 'revoke', t.id]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/enrolls no device from now on/);
    expect((await cli(['enroll-tokens', 'list'])).out).toMatch(new RegExp(`${t.id}\\s+revoked \\d{4}-\\d{2}-\\d{2} by bootstrap admin`));
    expect((await new SimDevice(svc.url, fakeFacts('late')).enroll(t.token)).status).toBe(401);
    expect((await cli(['enroll-tokens', 'revoke', 'enr_unknown'])).code).toBe(1);
    expect(await lastEvent('enroll-token.revoke')).toMatchObject({ target: t.id });
  });

  it('devices retire: impact and exit 2 without --yes; on a terminal y goes ahead, anything else does not', async () => {
    const no = await onTerminal(['devices', 'retire', 'lab-0'], 'n');
    expect(no.code, no.out + no.err).toBe(2);
    expect(no.out).toMatch(/This makes 1 device read-only: lab-0\./);
    expect(no.out).toMatch(/Go ahead\? \[y\/N\]/);
    expect((await json(['devices', 'show', 'lab-0'])).retired).toBeNull();
    const plain = await cli(['devices', 'retire', 'lab-0']);
    expect(plain.code).toBe(2);
    expect(plain.err).not.toMatch(/Go ahead/);
    expect((await json(['devices', 'show', 'lab-0'])).retired).toBeNull();
    const yes = await onTerminal(['devices', 'retire', 'lab-0'], 'y');
    expect(yes.code, yes.out).toBe(0);
    expect(yes.out).toMatch(/Retired device 'lab-0'/);
    const d = await json(['devices', 'show', 'lab-0']);
    expect(d).toMatchObject({ reason: 'DEVICE_RETIRED', retired: { by: { name: 'bootstrap admin' } } });
    expect((await json(['devices', 'show', 'lab-2'])).licensed).toBe(true);
    expect((await cli(['devices', 'show', 'lab-0'])).out).toMatch(/Retired:\s+.* by bootstrap admin; 'devlic-admin devices restore dev_/);
    expect(await lastEvent('device.retire')).toMatchObject({ targetName: 'lab-0' });
  });

  it('devices list --retired / --stale / --csv', async () => {
    expect((await json(['devices', 'list', '--retired'])).map((d: any) => d.name)).toEqual(['lab-0']);
    expect((await json(['devices', 'list', '--in-service'])).map((d: any) => d.name)).toEqual(['lab-1', 'lab-2']);
    expect(await json(['devices', 'list', '--stale', '1d'])).toEqual([]);
    const csv = await cli(['devices', 'list', '--csv']);
    expect(csv.code, csv.err).toBe(0);
    expect(csv.out.split('\r\n')[0]).toBe('hostname,group,seat,mode,enforcement,users,agent version,last seen');
    expect(csv.out).toMatch(/\r\nlab-0,Lab,DEVICE_RETIRED; retired \S+ by bootstrap admin,,never reported,,,never\r\n/);
    expect(csv.out).toMatch(/\r\nlab-1,Lab,ASSIGNED \(Lab EA\),/);
    expect((await cli(['devices', 'list', '--csv', '--limit', '5'])).code).toBe(2);
  });

  it('devices delete: refused unless retired; restore with --yes', async () => {
    const refused = await cli(['devices', 'delete', 'lab-1']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/DEVICE_NOT_RETIRED/);
    expect(refused.err).toMatch(/devices retire DEVICE/);
    const restore = await cli(['devices', 'restore', 'lab-0']);
    expect(restore.code).toBe(2);
    expect(restore.err).toMatch(/This makes 1 device read-only: lab-2/);
    expect((await cli(['devices', 'restore', 'lab-0', '--yes'])).code).toBe(0);
    expect((await json(['devices', 'show', 'lab-0'])).licensed).toBe(true);
    expect((await cli(['devices', 'retire', 'lab-2'])).code).toBe(0); // no seat: no question
    const del = await cli(['devices', 'delete', 'lab-2']);
    expect(del.code, del.err).toBe(0);
    expect(del.out).toMatch(/Deleted device 'lab-2'/);
    expect((await cli(['devices', 'show', 'lab-2'])).code).toBe(1);
    expect((await cli(['audit', 'list', '--action', 'device.delete'])).out).toMatch(/device\.delete\s+lab-2/);
  });

  it('groups rename and delete, subscriptions update --name', async () => {
    const r = await cli(['groups', 'rename', 'Lab', 'Lab 2']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Renamed the group to 'Lab 2'/);
    const has = await cli(['groups', 'delete', 'Lab 2', '--yes']);
    expect(has.code).toBe(1);
    expect(has.err).toMatch(/GROUP_HAS_LICENSES/);
    expect(has.err).toMatch(/Unassign the subscription first/);
    expect((await cli(['groups', 'create', 'Empty'])).code).toBe(0);
    const del = await cli(['groups', 'delete', 'Empty']);
    expect(del.code, del.err).toBe(0);
    expect(del.out).toMatch(/Deleted group 'Empty'/);
    const sub = await cli(['subscriptions', 'update', 'Lab EA', '--name', 'Lab EA 2027']);
    expect(sub.code, sub.err).toBe(0);
    expect((await json(['subscriptions', 'show', 'Lab EA 2027'])).name).toBe('Lab EA 2027');
    const seats = await cli(['subscriptions', 'update', 'Lab EA 2027', '--seats', '0']);
    expect(seats.code).toBe(2);
    expect(seats.err).toMatch(/This makes 2 devices read-only/);
    expect((await json(['subscriptions', 'show', 'Lab EA 2027'])).seats).toBe(2);
    for (const args of [['groups', 'remove-devices', 'Lab 2', 'lab-1'], ['subscriptions', 'update', 'Lab EA 2027', '--status', 'suspended'],
      ['subscriptions', 'update', 'Lab EA 2027', '--term-end', '2020-01-01'], ['devices', 'disable', 'lab-1']]) {
      const x = await cli(args);
      expect([args.join(' '), x.code]).toEqual([args.join(' '), 2]);
    }
    expect((await json(['devices', 'list', '--licensed'])).length).toBe(2);
  });

  it('audit list shows names instead of ids', async () => {
    const r = await cli(['audit', 'list', '--action', 'license.assign']);
    expect(r.out).toMatch(/license\.assign\s+Lab 2\s+subscription='Lab EA 2027' group='Lab 2'/);
  });
});
