// A product's page in the console follows seat changes made elsewhere
// (another admin, devlic-admin, REST) without a reload, in Debian's Chromium
// against a real devlic-server: a device product's "In use" and summary move
// when a subscription is assigned to a group with a device in it; a user
// product's when a person joins its licensed user group.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { launch, skipWithoutChromium, openConsole } from './browser.ts';

const DEVICE_SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const USER_SKU = 'M365_APPS_ENTERPRISE_USER';

const run = describe.skipIf(skipWithoutChromium('the console product page tests'));

run('console: a product page follows seat changes live', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService(), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    ({ page, errors } = await openConsole(browser, svc, { timeoutMs: 15_000 }));
  }, 120_000);

  afterAll(async () => { await browser?.close(); await svc?.stop(); });

  /** The "In use" cell of a subscription's row. */
  const inUse = (name: string) => page.locator(`tr[data-subscription="${name}"] [data-label="In use"]`);

  it('a device product: an assign made through the API shows as a seat in use', async () => {
    await admin.ok('POST', '/subscriptions', { product: DEVICE_SKU, seats: 3, name: 'Lab seats' });
    const g = await admin.ok('POST', '/groups', { name: 'Lab' });
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 1, group: g.id });
    expect((await new SimDevice(svc.url, fakeFacts('lab-01')).enroll(t.token)).status).toBe(201);
    await page.goto(`${svc.url}/#/licences/${DEVICE_SKU}`);
    await page.getByRole('heading', { level: 1, name: 'Microsoft 365 Apps for enterprise (device)' }).waitFor();
    expect(await inUse('Lab seats').textContent()).toBe('0');
    await admin.ok('POST', '/licenses/assign', { subscription: 'Lab seats', group: 'Lab' });
    await inUse('Lab seats').filter({ hasText: /^1$/ }).waitFor();
    expect(await page.locator('tr[data-subscription="Lab seats"] [data-label="Assigned to"]').textContent()).toBe('Lab');
    expect(await page.locator('#product-summary').textContent()).toMatch(/1\b/);
  });

  it('a user product: a person joining its licensed user group shows as a seat in use', async () => {
    await admin.ok('POST', '/subscriptions', { product: USER_SKU, seats: 2, name: 'Staff seats' });
    await admin.ok('POST', '/user-groups', { name: 'Teachers' });
    await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff seats', userGroup: 'Teachers' });
    await page.goto(`${svc.url}/#/licences/${USER_SKU}`);
    await page.getByRole('heading', { level: 1, name: 'Microsoft 365 Apps for enterprise (user)' }).waitFor();
    expect(await inUse('Staff seats').textContent()).toBe('0');
    await admin.ok('POST', '/user-groups/Teachers/users', { users: ['alice@school'] });
    await inUse('Staff seats').filter({ hasText: /^1$/ }).waitFor();
    expect(await page.locator('tr[data-subscription="Staff seats"] [data-label="Assigned to"]').textContent()).toBe('Teachers');
  });

  it('raised no page errors', () => {
    expect(errors).toEqual([]);
  });
});
