// Accessibility of every console page, measured with axe-core in Debian's
// Chromium against a real devlic-server process with real data: zero
// violations on each page as a global-admin sees it (the most controls), on
// the dialogs of the lifecycle flows while open, and on a retired device.
// axe comes in through page.evaluate (see axe.ts): the console's CSP is
// tested as served, not bypassed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { launch, skipWithoutChromium, signIn, watchErrors } from './browser.ts';
import { axeViolations } from './axe.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const run = describe.skipIf(skipWithoutChromium('the console accessibility tests'));

run('console pages have no axe-core violations', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let subId = '';
  let groupId = '';
  let deviceId = '';

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService(), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    subId = (await admin.ok('POST', '/subscriptions', { product: SKU, seats: 1, name: 'EA 2026' })).id;
    groupId = (await admin.ok('POST', '/groups', { name: 'Shared laptops' })).id;
    await admin.ok('POST', '/groups', { name: 'Lab B', parent: 'Shared laptops' });
    await admin.ok('POST', '/licenses/assign', { subscription: subId, group: groupId });
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 2, group: 'Shared laptops' });
    await admin.ok('POST', '/admins', { role: 'reader', name: 'helpdesk' });
    for (const name of ['lab-01', 'lab-02']) {
      const d = new SimDevice(svc.url, fakeFacts(name));
      expect((await d.enroll(t.token)).status).toBe(201);
      const c = claimsOf((await d.entitlement()).body.token);
      await d.report({ mode: c.status === 'licensed' ? 'full' : 'read-only', reason: c.reason, users: [{ name: 'anna', mode: 'full' }], agentVersion: '0.1.0-sim', lastError: null, cacheExpiresAt: null, entitlementSeq: c.seq });
      deviceId ||= d.deviceId;
    }
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    page.setDefaultTimeout(8_000);
    errors = watchErrors(page);
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
  });

  const check = async (name: string) => {
    const v = await axeViolations(page);
    expect(v, `${name}: ${JSON.stringify(v, null, 1)}`).toEqual([]);
  };
  const open = async (hash: string, h1: string) => {
    await page.goto(`${svc.url}/${hash}`);
    await page.getByRole('heading', { level: 1, name: h1 }).waitFor();
  };

  it('sign-in', async () => {
    await page.goto(svc.url);
    await page.getByLabel('Admin token').waitFor();
    await check('sign-in');
  });

  it('licences, subscription, groups, group detail, devices, device detail, audit, enrollment tokens, admins', async () => {
    await signIn(page, svc.url, svc.adminToken);
    const pages: [string, string, string][] = [
      ['licences', '#/licences', 'Licences'],
      ['product', `#/licences/${SKU}`, 'Microsoft 365 Apps for enterprise (device)'],
      ['subscription', `#/licences/${SKU}/${subId}`, 'EA 2026'],
      ['groups', '#/groups', 'Groups'],
      ['group detail', `#/groups/${groupId}`, 'Shared laptops'],
      ['devices', '#/devices', 'Devices'],
      ['device detail', `#/devices/${deviceId}`, 'lab-01'],
      ['audit', '#/audit', 'Audit log'],
      ['audit filtered', '#/audit?action=group.&since=2020-01-01T00%3A00%3A00.000Z', 'Audit log'],
      ['enrollment tokens', '#/enroll-tokens', 'Enrollment tokens'],
      ['admins', '#/admins', 'Admins'],
    ];
    const found: Record<string, unknown> = {};
    for (const [name, hash, h1] of pages) {
      await open(hash, h1);
      const v = await axeViolations(page);
      if (v.length) found[name] = v;
    }
    expect(found).toEqual({});
  });

  it('the lifecycle dialogs while open: token shown once, the impact confirmation, a form', async () => {
    const found: Record<string, unknown> = {};
    const inDialog = async (name: string, dialog: string) => {
      await page.getByRole('dialog', { name: dialog }).waitFor();
      const v = await axeViolations(page);
      if (v.length) found[name] = v;
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
    };
    await open('#/enroll-tokens', 'Enrollment tokens');
    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    await inDialog('token shown once', 'Enrollment token created');
    await open(`#/licences/${SKU}/${subId}`, 'EA 2026');
    await page.getByRole('button', { name: 'Change seats' }).click();
    await inDialog('seats form', 'Seats of EA 2026');
    await open(`#/devices/${deviceId}`, 'lab-01');
    await page.getByRole('button', { name: 'Retire device' }).click();
    await inDialog('impact confirmation', 'Retire lab-01?');
    expect(found).toEqual({});
  });

  it('a retired device, its page and the fleet filter', async () => {
    await admin.ok('POST', `/devices/${deviceId}/retire`, { confirm: true });
    await open(`#/devices/${deviceId}`, 'lab-01');
    await page.locator('#retired-note').waitFor();
    const a = await axeViolations(page);
    await open('#/devices?filter=retired', 'Devices');
    await page.locator(`tr[data-device-id="${deviceId}"]`).waitFor();
    expect({ device: a, fleet: await axeViolations(page) }).toEqual({ device: [], fleet: [] });
  });

  it('raised no page errors', () => {
    // 401: the sign-in page probed without a token; 428: the retire that asked for a confirmation.
    expect(errors.filter((e) => !/status of (401|428)/.test(e))).toEqual([]);
  });
});
