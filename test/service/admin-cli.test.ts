// devlic-admin end to end: the seed's steps (choose the product, add a
// subscription, assign it to a group by name, unassign) typed as an admin
// would, against a real devlic-server process.
import { runAdminCli } from '../helpers/admin.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { join } from 'node:path';

let svc: ServiceProcess;

const cli = (args: string[], env: Record<string, string> = {}) => runAdminCli(svc, args, env);

async function json(args: string[]): Promise<any> {
  const r = await cli([...args, '--json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

beforeAll(async () => { svc = await startService(); });
afterAll(async () => { await svc?.stop(); });

describe('devlic-admin, the seed\'s steps', () => {
  const devices: SimDevice[] = [];

  it('shows the device products and adds a subscription', async () => {
    const table = await cli(['products', 'list']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/M365_APPS_ENTERPRISE_DEVICE\s+Microsoft 365 Apps for enterprise \(device\)/);
    const sub = await json(['subscriptions', 'add', '--product', 'M365_APPS_ENTERPRISE_DEVICE', '--seats', '20', '--name', 'EA 2026']);
    expect(sub).toMatchObject({ name: 'EA 2026', seats: 20, status: 'active' });
    expect(sub.id).toMatch(/^sub_/);
  });

  it('creates a group, enrolls devices into it, and assigns the subscription by typing the group name', async () => {
    expect((await cli(['groups', 'create', 'Shared laptops'])).code).toBe(0);
    const tok = await json(['enroll-tokens', 'create', '--uses', '3', '--group', 'Shared laptops', '--expires', '1d']);
    expect(tok.token).toMatch(/^dle_/);
    for (let i = 0; i < 3; i++) {
      const d = new SimDevice(svc.url, fakeFacts(`laptop-${i}`));
      expect((await d.enroll(tok.token)).status).toBe(201);
      devices.push(d);
    }
    const r = await cli(['licenses', 'assign', '--subscription', 'EA 2026', '--group', 'Shared laptops']);
    expect(r.code, r.err).toBe(0);
    const licensed = await json(['devices', 'list', '--licensed']);
    expect(licensed.map((d: any) => d.id).sort()).toEqual(devices.map((d) => d.deviceId).sort());
    const table = await cli(['devices', 'list']);
    for (let i = 0; i < 3; i++) expect(table.out).toMatch(new RegExp(`laptop-${i}.*Shared laptops.*ASSIGNED`));
  });

  it('refuses a second subscription on the group with exit 1 and the service\'s reason', async () => {
    await json(['subscriptions', 'add', '--product', 'M365_APPS_EDUCATION_DEVICE', '--seats', '5', '--name', 'EES']);
    const r = await cli(['licenses', 'assign', '--subscription', 'EES', '--group', 'Shared laptops']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/already has subscription 'EA 2026'/);
    expect(r.err).toMatch(/GROUP_ALREADY_LICENSED/);
  });

  it('unassigns only with --yes, reporting how many devices lost their licence', async () => {
    // Without --yes (and no terminal to ask on): the impact, exit 2, nothing changed.
    const refused = await cli(['licenses', 'unassign', '--subscription', 'EA 2026', '--group', 'Shared laptops']);
    expect(refused.code, refused.err).toBe(2);
    expect(refused.err).toMatch(/This makes 3 devices read-only: laptop-\d, laptop-\d, laptop-\d\./);
    expect(refused.err).toMatch(/nothing was changed; run it again with --yes/);
    expect((await json(['devices', 'list', '--licensed'])).length).toBe(3);
    expect((await json(['licenses', 'list'])).length).toBe(1);
    const r = await cli(['licenses', 'unassign', '--subscription', 'EA 2026', '--group', 'Shared laptops', '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/3/);
    expect(await json(['devices', 'list', '--licensed'])).toEqual([]);
    const un = await json(['devices', 'list', '--unlicensed']);
    expect(un.every((d: any) => d.reason === 'NOT_IN_LICENSED_GROUP')).toBe(true);
  });

  it('lets a reader read but not assign', async () => {
    const reader = await json(['admins', 'create', '--role', 'reader', '--name', 'helpdesk']);
    const env = { DEVLIC_ADMIN_TOKEN: reader.token };
    expect((await cli(['devices', 'list'], env)).code).toBe(0);
    const r = await cli(['licenses', 'assign', '--subscription', 'EA 2026', '--group', 'Shared laptops'], env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/FORBIDDEN/);
    expect(await json(['licenses', 'list'])).toEqual([]);
  });

  it('shows the audit trail of those changes', async () => {
    const events = await json(['audit', 'list']);
    const actions = events.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['license.assign', 'license.unassign', 'subscription.create', 'group.create', 'admin.create']));
  });

  it('exits 2 with a one-line reason on wrong usage', async () => {
    for (const args of [['licenses', 'assign', '--group', 'x'], ['subscriptions', 'add', '--product', 'X', '--seats', 'many'], ['nonsense']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
  });
});
