// devlic-admin's per-user licence commands (issue 16) typed as an admin would,
// against a real devlic-server: create a user group, add people by any
// spelling of their sign-in name, assign a user product's subscription with
// `licenses assign --user-group`, see the table, bad names and wrong kinds
// refused with exit codes.
import { runAdminCli } from '../helpers/admin.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';

let svc: ServiceProcess;

const cli = (args: string[], env: Record<string, string> = {}) => runAdminCli(svc, args, env);

beforeAll(async () => { svc = await startService(); });
afterAll(async () => { await svc?.stop(); });

describe('devlic-admin user-groups and licenses assign --user-group', () => {
  it('creates a user group, adds people normalised, and lists it', async () => {
    expect((await cli(['user-groups', 'create', 'Teachers'])).code).toBe(0);
    const add = await cli(['user-groups', 'add-users', 'Teachers', 'CONTOSO\\Alice', 'bob@contoso']);
    expect(add.code, add.err).toBe(0);
    expect(add.out).toContain("Added 2 people to user group 'Teachers'.");
    expect(add.out).toMatch(/Members:\s+alice@contoso, bob@contoso/);
    const list = await cli(['user-groups', 'list']);
    expect(list.out).toMatch(/Teachers\s+2\s+-/);
  });

  it('refuses a bad sign-in name with the service code and changes nothing', async () => {
    const r = await cli(['user-groups', 'add-users', 'Teachers', 'a,b']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('SIGN_IN_NAME_INVALID');
    expect((await cli(['user-groups', 'show', 'Teachers'])).out).toMatch(/People:\s+2/);
  });

  it('assigns a user product subscription to the user group and refuses it for a device group', async () => {
    const sub = await cli(['subscriptions', 'add', '--product', 'M365_APPS_ENTERPRISE_USER', '--seats', '5', '--name', 'Staff']);
    expect(sub.code, sub.err).toBe(0);
    expect((await cli(['groups', 'create', 'Lab'])).code).toBe(0);
    const wrong = await cli(['licenses', 'assign', '--subscription', 'Staff', '--group', 'Lab']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toContain('WRONG_PRODUCT_KIND');
    const ok = await cli(['licenses', 'assign', '--subscription', 'Staff', '--user-group', 'Teachers']);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain("Assigned subscription 'Staff' to user group 'Teachers' (M365_APPS_ENTERPRISE_USER).");
    expect((await cli(['licenses', 'list-users'])).out).toMatch(/Staff\s+Teachers\s+M365_APPS_ENTERPRISE_USER/);
    const subs = await cli(['subscriptions', 'list', '--json']);
    expect(JSON.parse(subs.out).find((s: any) => s.name === 'Staff')).toMatchObject({ seatsUsed: 2 });
  });

  it('asks --yes before taking people\'s licence (remove-users, unassign, fewer seats), says how many, and changes nothing without it', async () => {
    const seatsUsed = async () => JSON.parse((await cli(['subscriptions', 'list', '--json'])).out).find((s: any) => s.name === 'Staff').seatsUsed;
    // remove-users: exit 2, the people named, nothing changed (the same exit and wording as for devices).
    const rm = await cli(['user-groups', 'remove-users', 'Teachers', 'CONTOSO\\Bob']);
    expect(rm.code).toBe(2);
    expect(rm.err).toContain('This takes the user licence from 1 person: bob@contoso.');
    expect(rm.err).toContain('nothing was changed; run it again with --yes to go ahead');
    expect((await cli(['user-groups', 'show', 'Teachers'])).out).toMatch(/Members:\s+alice@contoso, bob@contoso/);
    expect(await seatsUsed()).toBe(2);
    // Fewer seats than people licensed: guarded too.
    const seats = await cli(['subscriptions', 'update', 'Staff', '--seats', '1']);
    expect(seats.code).toBe(2);
    expect(seats.err).toMatch(/This takes the user licence from 1 person: bob@contoso\./);
    expect(seats.err).not.toContain('device');
    // unassign: both people named.
    const un = await cli(['licenses', 'unassign', '--subscription', 'Staff', '--user-group', 'Teachers']);
    expect(un.code).toBe(2);
    expect(un.err).toContain('This takes the user licence from 2 people: alice@contoso, bob@contoso.');
    expect(await seatsUsed()).toBe(2);
    // Confirmed: done, and the audit event records what was confirmed.
    const rmYes = await cli(['user-groups', 'remove-users', 'Teachers', 'bob@contoso', '--yes']);
    expect(rmYes.code, rmYes.err).toBe(0);
    expect(await seatsUsed()).toBe(1);
    const audit = JSON.parse((await cli(['audit', 'list', '--action', 'user-group.remove-users', '--json'])).out);
    expect(audit[0].details).toMatchObject({ users: ['bob@contoso'], impact: { devices: 0, people: 1 } });
    // Removing someone who holds no licence takes nothing: no question asked.
    expect((await cli(['user-groups', 'add-users', 'Teachers', 'carol'])).code).toBe(0);
    const sub = JSON.parse((await cli(['subscriptions', 'update', 'Staff', '--seats', '2', '--json'])).out);
    expect(sub.seatsUsed).toBe(2);
    expect((await cli(['subscriptions', 'update', 'Staff', '--seats', '1', '--yes'])).code).toBe(0);
    const free = await cli(['user-groups', 'remove-users', 'Teachers', 'carol']);
    expect(free.code, free.err).toBe(0);
    const unYes = await cli(['licenses', 'unassign', '--subscription', 'Staff', '--user-group', 'Teachers', '--yes']);
    expect(unYes.code, unYes.err).toBe(0);
    expect(unYes.out).toContain('Unassigned subscription');
    expect(await seatsUsed()).toBe(0);
  }, 180_000);
});
