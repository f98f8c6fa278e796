// The fleet view's Next in a real browser (Debian's Chromium) against a real
// devlic-server: Next asks for the page after the last device shown (the
// service's cursor, `after=`), not by offset, so a device deleted from the
// first page while an admin reads it does not make the second page skip a
// device (by offset it would: everything moves up one place).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { launch, skipWithoutChromium, openConsole } from './browser.ts';

const run = describe.skipIf(skipWithoutChromium('the admin console tests'));

const PAGE = 50; // service/console/js/devices.js
const COUNT = 60;

run('fleet view: Next by cursor', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const ids: string[] = []; // in enrollment order: the list's order

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService({ config: { enrollPerMinute: 100000 } }), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    const t = await admin.ok('POST', '/enroll-tokens', { uses: COUNT });
    for (let i = 0; i < COUNT; i++) {
      const d = new SimDevice(svc.url, fakeFacts(`page-${String(i).padStart(2, '0')}`));
      expect((await d.enroll(t.token)).status).toBe(201);
      ids.push(d.deviceId);
    }
    ({ page, errors } = await openConsole(browser, svc));
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
  });

  const shownIds = () => page.locator('#fleet tbody tr[data-device-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')));

  it("the second page starts right after the first page's last device, even after a device on the first page is deleted", async () => {
    await page.goto(`${svc.url}/#/devices`);
    await page.locator(`tr[data-device-id="${ids[PAGE - 1]}"]`).waitFor();
    const first = await shownIds();
    expect(first).toEqual(ids.slice(0, PAGE));

    // While the admin reads page 1, another admin retires and deletes its first device.
    await admin.ok('POST', `/devices/${ids[0]}/retire`, { confirm: true });
    await admin.ok('DELETE', `/devices/${ids[0]}`);

    const asked: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/v1/admin/devices?')) asked.push(r.url()); });
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.locator(`tr[data-device-id="${ids[PAGE]}"]`).waitFor();
    const second = await shownIds();
    // By offset the page would start at ids[PAGE + 1]: ids[PAGE] would be on no page at all.
    expect(second).toEqual(ids.slice(PAGE));
    expect(asked.some((u) => new URL(u).searchParams.has('after') && !new URL(u).searchParams.has('offset'))).toBe(true);
    expect(await page.locator('#fleet-summary').textContent()).toContain(`${COUNT - 1} devices`);
    expect(errors).toEqual([]);
  });
});
