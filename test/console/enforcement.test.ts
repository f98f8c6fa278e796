// The fleet view's enforcement health in a real browser (Debian's Chromium)
// against a real devlic-server: a device whose report says an enforcer
// cannot hold the mode gets a "not enforced" badge and is what the "Not
// enforced" filter shows; a device whose agent predates the field says
// "enforcement unknown", never looks enforced; the device page says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { launch, skipWithoutChromium, openConsole, screenshot } from './browser.ts';
import { axeViolations } from './axe.ts';

const run = describe.skipIf(skipWithoutChromium('the admin console tests'));

const base = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: [], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: null };
const TOO_OLD = 'LibreOffice 7.4.7.2 does not have ViewerAppMode; upgrade LibreOffice to enforce read-only';

run('fleet view: enforcement health', () => {
  let svc: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const dev: Record<string, SimDevice> = {};

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService(), launch()]);
    const admin = adminClient(svc.url, svc.adminToken);
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 3 });
    for (const n of ['enforced-ok', 'enforced-no', 'enforced-old']) {
      dev[n] = new SimDevice(svc.url, fakeFacts(n));
      expect((await dev[n].enroll(t.token)).status).toBe(201);
    }
    expect(await dev['enforced-ok'].report({ ...base, enforcement: [{ enforcer: 'file', ok: true }] })).toBe(204);
    expect(await dev['enforced-no'].report({ ...base, enforcement: [{ enforcer: 'file', ok: true }, { enforcer: 'libreoffice', ok: false, reason: TOO_OLD }] })).toBe(204);
    expect(await dev['enforced-old'].report(base)).toBe(204);
    ({ page, errors } = await openConsole(browser, svc));
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
  });

  const row = (n: string) => page.locator(`tr[data-device-id="${dev[n].deviceId}"]`);

  it('badges: "not enforced" with the reason, "enforcement unknown" for an older agent, none when enforced', async () => {
    await page.goto(`${svc.url}/#/devices`);
    await row('enforced-no').waitFor();
    const badge = row('enforced-no').locator('[data-enforced="false"]');
    expect(await badge.textContent()).toBe('not enforced');
    expect(await badge.getAttribute('title')).toBe(`libreoffice: ${TOO_OLD}`);
    expect(await row('enforced-old').locator('[data-enforced="unknown"]').textContent()).toBe('enforcement unknown');
    expect(await row('enforced-ok').locator('[data-enforced]').count()).toBe(0);
    // The badges meet WCAG AA like the rest of the console (contrast, names).
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'fleet-not-enforced-badge');
  });

  it('the "Not enforced" filter shows only the device that is not, and keeps it in the URL', async () => {
    await page.getByLabel('Not enforced').check();
    await row('enforced-ok').waitFor({ state: 'detached' });
    expect(await page.locator('tbody tr[data-device-id]').count()).toBe(1);
    await row('enforced-no').waitFor();
    expect(page.url()).toMatch(/filter=not-enforced/);
    // Fixed on the device: its next report takes it off the list.
    expect(await dev['enforced-no'].report({ ...base, enforcement: [{ enforcer: 'file', ok: true }, { enforcer: 'libreoffice', ok: true }] })).toBe(204);
    await page.reload();
    await page.getByText('No devices', { exact: false }).first().waitFor();
    expect(await page.locator('tbody tr[data-device-id]').count()).toBe(0);
    expect(await dev['enforced-no'].report({ ...base, enforcement: [{ enforcer: 'libreoffice', ok: false, reason: TOO_OLD }] })).toBe(204);
  });

  it('the device page says why it is not enforced', async () => {
    // A goto that changes only the hash renders in the same document: the previous device's
    // #enforced stays until the new page is there, so wait for this device's heading first.
    await page.goto(`${svc.url}/#/devices/${dev['enforced-no'].deviceId}`);
    await page.getByRole('heading', { level: 1, name: 'enforced-no' }).waitFor();
    expect(await page.locator('#enforced').textContent()).toBe(`no: libreoffice: ${TOO_OLD}`);
    await page.goto(`${svc.url}/#/devices/${dev['enforced-old'].deviceId}`);
    await page.getByRole('heading', { level: 1, name: 'enforced-old' }).waitFor();
    expect(await page.locator('#enforced').textContent()).toMatch(/^unknown/);
    expect(errors).toEqual([]);
  });
});
