// devlic-admin's per-user licence commands (issue 16) typed as an admin would,
// against a real devlic-server: create a user group, add people by any
// spelling of their sign-in name, assign a user product's subscription with
// `licenses assign --user-group`, see the table, bad names and wrong kinds
// refused with exit codes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, startService, type ServiceProcess } from '../helpers/processes.ts';

let svc: ServiceProcess;

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(ROOT, 'service/admin-cli/main.ts'), ...args], {
      env: { ...process.env, DEVLIC_SERVER: svc.url, DEVLIC_ADMIN_TOKEN: svc.adminToken },
    });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

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
    const un = await cli(['licenses', 'unassign', '--subscription', 'Staff', '--user-group', 'Teachers']);
    expect(un.code, un.err).toBe(0);
    expect(un.out).toContain('Unassigned subscription');
  });
});
