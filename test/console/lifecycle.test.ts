// The console's lifecycle flows in Debian's Chromium against a real
// devlic-server process and the real admin API: enrollment tokens and admin
// tokens created (shown once, copied to the clipboard) and revoked, devices
// retired and restored from their fleet row, the confirmation dialog that
// shows the service's own impact count (and that cancelling changes nothing),
// the "N devices got no seat" link, adding seats and a subscription, group
// rename/delete, the audit filter with readable changes and time zones, the
// CSV export, and a reader who is offered no action at all. Devices are
// SimDevices speaking the real device protocol.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { DEVICE_CSV_COLUMNS } from '../../shared/schemas/fleet.ts';
import { launch, skipWithoutChromium, openConsole, screenshot } from './browser.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const EDU = 'M365_APPS_EDUCATION_DEVICE';
const FORMULA_HOST = '=HYPERLINK("http://x.example","lab")';
const run = describe.skipIf(skipWithoutChromium('the console lifecycle tests'));

async function syncAndReport(d: SimDevice): Promise<void> {
  const c = claimsOf((await d.entitlement()).body.token);
  expect(await d.report({
    mode: c.status === 'licensed' ? 'full' : 'read-only', reason: c.reason, users: [{ name: 'anna', mode: 'full' }],
    agentVersion: '0.1.0-sim', lastError: null, cacheExpiresAt: null, entitlementSeq: c.seq,
  })).toBe(204);
}

run('console lifecycle flows in Chromium', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let subId = '';
  const lab: SimDevice[] = []; // lab-01 (seated), lab-02 and lab-03 (no seat) in Shared laptops, one seat
  let lib: SimDevice; // in Library, whose education subscription has no seat either
  let formula: SimDevice; // in no group, its hostname a spreadsheet formula

  const dev = async (d: SimDevice) => admin.ok('GET', `/devices/${d.deviceId}`);
  const row = (d: SimDevice) => page.locator(`tr[data-device-id="${d.deviceId}"]`);
  const heading = (name: string) => page.getByRole('heading', { level: 1, name, exact: true }).waitFor();

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService(), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    subId = (await admin.ok('POST', '/subscriptions', { product: SKU, seats: 1, name: 'EA 2026' })).id;
    const edu = (await admin.ok('POST', '/subscriptions', { product: EDU, seats: 0, name: 'EES 2026' })).id;
    await admin.ok('POST', '/groups', { name: 'Shared laptops' });
    await admin.ok('POST', '/groups', { name: 'Library' });
    await admin.ok('POST', '/licenses/assign', { subscription: subId, group: 'Shared laptops' });
    await admin.ok('POST', '/licenses/assign', { subscription: edu, group: 'Library' });
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 3, group: 'Shared laptops' });
    for (const name of ['lab-01', 'lab-02', 'lab-03']) {
      const d = new SimDevice(svc.url, fakeFacts(name));
      expect((await d.enroll(t.token)).status).toBe(201);
      lab.push(d);
    }
    lib = new SimDevice(svc.url, fakeFacts('lib-01'));
    expect((await lib.enroll((await admin.ok('POST', '/enroll-tokens', { group: 'Library' })).token)).status).toBe(201);
    formula = new SimDevice(svc.url, fakeFacts(FORMULA_HOST));
    expect((await formula.enroll((await admin.ok('POST', '/enroll-tokens', {})).token)).status).toBe(201);
    for (const d of [...lab, lib, formula]) await syncAndReport(d);
    expect((await dev(lab[0])).licensed).toBe(true);
    expect((await dev(lab[1])).reason).toBe('SEATS_EXHAUSTED');
    expect((await dev(lib)).reason).toBe('SEATS_EXHAUSTED');
    // A zone far from UTC, so "dates show their time zone" is visible in the text.
    ({ context, page, errors } = await openConsole(browser, svc, {
      context: { viewport: { width: 1280, height: 900 }, timezoneId: 'America/New_York', locale: 'en-US' },
      prepare: (c) => c.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: svc.url }),
    }));
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
  });

  it('creates an enrollment token, shows it once with Copy, and revokes it so it enrolls nothing', async () => {
    await page.getByRole('link', { name: 'Enrollment tokens' }).click();
    await heading('Enrollment tokens');
    await page.getByLabel('Devices it may enroll').fill('5');
    await page.getByRole('combobox', { name: 'Enroll devices into group (optional)' }).pressSequentially('Shared', { delay: 20 });
    await page.getByRole('option', { name: /Shared laptops/ }).click();
    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Enrollment token created' });
    const field = dialog.getByLabel('Enrollment token');
    const token = await field.inputValue();
    expect(token).toMatch(/^dle_/);
    expect(await dialog.textContent()).toContain('shown only this once');
    await dialog.getByRole('button', { name: 'Copy to clipboard' }).click();
    await dialog.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(token);
    await screenshot(page, 'enroll-token-created');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    // Gone from the page once closed: the service keeps only its hash.
    expect(await page.evaluate((t) => (globalThis as any).document.documentElement.outerHTML.includes(t), token)).toBe(false);

    const listed = (await admin.ok('GET', '/enroll-tokens')).items.at(-1);
    expect([listed.usesLeft, listed.group?.name, listed.status]).toEqual([5, 'Shared laptops', 'active']);
    const rowEl = page.locator(`tr[data-token-id="${listed.id}"]`);
    await rowEl.getByText('Shared laptops').waitFor();
    const probe = new SimDevice(svc.url, fakeFacts('probe-01'));
    expect((await probe.enroll(token)).status).toBe(201); // it works until revoked

    await rowEl.getByRole('button', { name: `Revoke ${listed.id}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke this enrollment token?' });
    expect(await confirm.textContent()).toContain('4 uses left');
    await confirm.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.locator(`tr[data-token-id="${listed.id}"][data-status="revoked"]`).waitFor();
    const refused = await new SimDevice(svc.url, fakeFacts('probe-02')).enroll(token);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('ENROLL_TOKEN_INVALID');
    // The probe device is retired and deleted through the API so the fleet below stays as set up.
    await admin.ok('POST', `/devices/${probe.deviceId}/retire`, { confirm: true });
    await admin.ok('DELETE', `/devices/${probe.deviceId}`);
  });

  it('creates an admin token (shown once) and revokes it: the token is refused at once', async () => {
    await page.getByRole('link', { name: 'Admins' }).click();
    await heading('Admins');
    await page.getByLabel('Name', { exact: true }).fill('helpdesk');
    await page.getByLabel('Role').selectOption('reader');
    await page.getByRole('button', { name: 'Create admin token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin token created' });
    const token = await dialog.getByLabel('Admin token for helpdesk').inputValue();
    await dialog.getByRole('button', { name: 'Done' }).click();
    expect((await adminClient(svc.url, token).get('/whoami')).body.role).toBe('reader');
    const helpdesk = (await admin.ok('GET', '/admins')).items.find((a: any) => a.name === 'helpdesk');
    await page.locator(`tr[data-admin-id="${helpdesk.id}"]`).getByRole('button', { name: 'Revoke helpdesk' }).click();
    await page.getByRole('dialog', { name: 'Revoke this admin token?' }).getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.locator(`tr[data-admin-id="${helpdesk.id}"][data-status="revoked"]`).waitFor();
    expect((await adminClient(svc.url, token).get('/whoami')).status).toBe(401);

    // The last global-admin cannot revoke itself: the service's refusal is shown and this console stays signed in.
    const me = (await admin.ok('GET', '/whoami')).id;
    await page.locator(`tr[data-admin-id="${me}"]`).getByRole('button', { name: 'Revoke bootstrap admin' }).click();
    const self = page.getByRole('dialog', { name: 'Revoke this admin token?' });
    expect(await self.textContent()).toContain('This is the token you are signed in with');
    await self.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByRole('alert').getByText('is the last global-admin').waitFor();
    expect((await admin.get('/whoami')).status).toBe(200);
    await heading('Admins');
  });

  it('links "N devices got no seat" to exactly those devices', async () => {
    await page.goto(`${svc.url}/#/licences/${SKU}/${subId}`);
    await heading('EA 2026');
    await page.getByText('2 devices are in an assigned group but got no seat').waitFor();
    await page.getByRole('link', { name: 'Show the 2 devices without a seat' }).click();
    await heading('Devices');
    await row(lab[1]).waitFor();
    await row(lab[2]).waitFor();
    // lib-01 has no seat either, but from another subscription: not listed here.
    expect(await page.locator('tbody tr[data-device-id]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-device-id')).sort()))
      .toEqual([lab[1].deviceId, lab[2].deviceId].sort());
    expect(await page.locator('#fleet-summary').textContent()).toContain('2 devices · No seat left in EA 2026');
    await screenshot(page, 'no-seat-devices');
  });

  it('retires a device from its row only after the confirmation that shows the impact; cancel changes nothing', async () => {
    await page.goto(`${svc.url}/#/devices`);
    await heading('Devices');
    const before = await admin.ok('GET', '/audit?limit=1');
    await row(lab[0]).getByRole('button', { name: 'Actions for lab-01' }).click();
    await row(lab[0]).getByRole('menuitem', { name: 'Retire device' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retire lab-01?' });
    await dialog.waitFor();
    // The service's count: lab-01 goes read-only, the next device in line gets its seat.
    expect(await dialog.locator('[data-impact]').textContent()).toBe('1 device goes read-only.');
    expect(await dialog.textContent()).toContain('It is lab-01.');
    expect(await dialog.textContent()).toContain('1 device without a seat gets the freed seat.');
    expect(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === (globalThis as any).document.activeElement)).toBe(true);
    await screenshot(page, 'retire-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    const still = await dev(lab[0]);
    expect([still.retired, still.licensed]).toEqual([null, true]);
    expect((await admin.ok('GET', '/audit?limit=1')).items[0].id).toBe(before.items[0].id); // nothing written

    await row(lab[0]).getByRole('button', { name: 'Actions for lab-01' }).click();
    await row(lab[0]).getByRole('menuitem', { name: 'Retire device' }).click();
    await page.getByRole('dialog', { name: 'Retire lab-01?' }).getByRole('button', { name: 'Retire', exact: true }).click();
    const retiredRow = page.locator(`tr[data-device-id="${lab[0].deviceId}"][data-retired="true"]`);
    await retiredRow.waitFor();
    expect(await retiredRow.locator('.licence').textContent()).toBe('Retired DEVICE_RETIRED');
    const retired = await dev(lab[0]);
    expect([retired.retired?.by.name, retired.reason]).toEqual(['bootstrap admin', 'DEVICE_RETIRED']);
    expect((await dev(lab[1])).licensed).toBe(true); // its seat passed on
    await screenshot(page, 'fleet-retired');
  });

  it('restores it from its row (the service asks again: it takes its seat back)', async () => {
    await page.getByLabel('Retired', { exact: true }).check();
    await row(lab[0]).waitFor();
    await row(lab[1]).waitFor({ state: 'detached' });
    await row(lab[0]).getByRole('button', { name: 'Actions for lab-01' }).click();
    await row(lab[0]).getByRole('menuitem', { name: 'Restore device' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore lab-01?' });
    expect(await dialog.textContent()).toContain('It is lab-02.');
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.getByText('No devices match.').waitFor();
    await page.getByLabel('All', { exact: true }).check();
    await page.locator(`tr[data-device-id="${lab[0].deviceId}"][data-retired="false"]`).getByText('Seat: EA 2026').waitFor();
    expect((await dev(lab[0])).retired).toBeNull();
  });

  it('adds seats from the "got no seat" warning; fewer seats than in use needs a confirmation, and Cancel keeps them', async () => {
    await page.goto(`${svc.url}/#/licences/${SKU}/${subId}`);
    await heading('EA 2026');
    await page.getByRole('button', { name: 'Add seats' }).click();
    const dialog = page.getByRole('dialog', { name: 'Seats of EA 2026' });
    expect(await dialog.getByLabel('Seats').inputValue()).toBe('3'); // seats + devices waiting
    await dialog.getByRole('button', { name: 'Save seats' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('3 seats: 3 assigned, 0 available.').waitFor();
    expect(await page.getByText('got no seat').count()).toBe(0);

    await page.getByRole('button', { name: 'Change seats' }).click();
    await dialog.getByLabel('Seats').fill('1');
    await dialog.getByRole('button', { name: 'Save seats' }).click();
    const confirm = page.getByRole('dialog', { name: 'Fewer seats than in use?' });
    expect(await confirm.locator('[data-impact]').textContent()).toBe('2 devices go read-only.');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await admin.ok('GET', `/subscriptions/${subId}`)).seats).toBe(3);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await admin.ok('GET', `/subscriptions/${subId}`)).seats).toBe(3);
  });

  it('adds a subscription and renames it from the console', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Licences' }).click();
    await heading('Licences');
    await page.getByRole('button', { name: 'Add a subscription' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a subscription' });
    await dialog.getByLabel('Product').selectOption(EDU);
    await dialog.getByLabel('Name (optional)').fill('EES spare');
    await dialog.getByLabel('Seats').fill('4');
    await dialog.getByRole('button', { name: 'Add subscription' }).click();
    await heading('EES spare');
    await page.getByRole('button', { name: 'Rename' }).click();
    const rename = page.getByRole('dialog', { name: 'Rename subscription' });
    await rename.getByLabel('Name').fill('EES 2027');
    await rename.getByRole('button', { name: 'Rename' }).click();
    await heading('EES 2027');
    const subs = (await admin.ok('GET', '/subscriptions')).items.filter((s: any) => s.name === 'EES 2027');
    expect(subs.map((s: any) => [s.product, s.seats])).toEqual([[EDU, 4]]);
  });

  it('renames and deletes a group; a licensed group is refused with the service message', async () => {
    const g = await admin.ok('POST', '/groups', { name: 'Lab C' });
    await page.goto(`${svc.url}/#/groups/${g.id}`);
    await heading('Lab C');
    await page.getByRole('button', { name: 'Rename' }).click();
    const rename = page.getByRole('dialog', { name: 'Rename group' });
    await rename.getByLabel('Name').fill('Lab D');
    await rename.getByRole('button', { name: 'Rename' }).click();
    await heading('Lab D');
    await page.getByRole('button', { name: 'Delete group' }).click();
    await page.getByRole('dialog', { name: 'Delete the group Lab D?' }).getByRole('button', { name: 'Delete group' }).click();
    await heading('Groups');
    expect((await admin.get('/groups/Lab%20D')).status).toBe(404);

    await page.getByRole('link', { name: 'Shared laptops' }).click();
    await heading('Shared laptops');
    await page.getByRole('button', { name: 'Delete group' }).click();
    await page.getByRole('dialog', { name: 'Delete the group Shared laptops?' }).getByRole('button', { name: 'Delete group' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'subscription' });
    await alert.waitFor();
    expect((await admin.get('/groups/Shared%20laptops')).status).toBe(200);
  });

  it('filters the audit log by what, who, target and time, with readable changes and the time zone on dates', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading('Audit log');
    // Readable before/after: names and values, not JSON.
    const seats = page.locator('tr[data-action="subscription.update"]').filter({ hasText: 'seats:' }).first();
    expect((await seats.locator('.details').textContent())?.replace(/\s+/g, ' ')).toContain('seats: 1 → 3');
    const renamed = page.locator('tr[data-action="group.rename"]');
    expect(await renamed.locator('.details').textContent()).toContain('name: Lab C → Lab D');
    expect(await page.locator('tr[data-action="license.assign"]').first().textContent()).not.toMatch(/(grp|sub|asg)_[A-Za-z0-9]/);
    // Dates name their zone (the browser runs in New York).
    expect(await page.locator('#audit-table tbody tr th time').first().textContent()).toMatch(/\b(EST|EDT)\b/);
    expect(await page.getByText('Times are in America/New_York').count()).toBe(1);

    await page.getByLabel('What').selectOption('device.retire');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByText('Showing the latest 2 of 2 matching events.').waitFor();
    expect(new Set(await page.locator('#audit-table tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-action'))))).toEqual(new Set(['device.retire']));
    expect(page.url()).toContain('action=device.retire');

    // Target by name, and who: only the retire of lab-01 by the bootstrap admin.
    await page.getByLabel('Target').fill('lab-01');
    await page.getByLabel('Who').selectOption({ label: 'bootstrap admin (global-admin)' });
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByText('Showing the latest 1 of 1 matching events.').waitFor();
    expect(await page.locator('#audit-table tbody tr').first().textContent()).toContain('lab-01');
    await screenshot(page, 'audit-filtered');

    // A time window in the future: nothing.
    await page.getByLabel(/^From/).fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByText('No events match this filter.').waitFor();
    await page.getByRole('button', { name: 'Clear filter' }).click();
    await page.getByText(/Showing the latest \d+ of \d+ events\./).waitFor();

    // A name the service does not know is refused in the form, with nothing sent.
    await page.getByLabel('Target').fill('no such thing');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByRole('alert').getByText('No group, subscription, device or admin is called “no such thing”').waitFor();
  });

  it('exports the device list as CSV with the same columns, formulas neutralised, the filter applied', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await heading('Devices');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^devlic-devices-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(DEVICE_CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + 5);
    // lab-02 got its seat after it last reported read-only: the export says the change is still pending.
    expect(lines.find((l) => l.startsWith('lab-02,'))).toMatch(/^lab-02,Shared laptops,ASSIGNED \(EA 2026\),read-only,pending \(reports read-only\),anna,0\.1\.0-sim,20/);
    // The formula hostname is text in a spreadsheet: a leading ' (and quoted, as it holds quotes and a comma).
    expect(csv).toContain(`"'=HYPERLINK(""http://x.example"",""lab"")"`);
    expect(lines.some((l) => l.startsWith('='))).toBe(false);

    await page.getByLabel('No seat left').check();
    await page.locator('#fleet-summary').getByText('No seat left').waitFor();
    const [filtered] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const flines = readFileSync(await filtered.path(), 'utf8').trimEnd().split('\r\n');
    expect(flines.slice(1).map((l) => l.split(',')[0])).toEqual(['lib-01']);
  });

  it('offers a reader no action on any page', async () => {
    const reader = await admin.ok('POST', '/admins', { role: 'reader', name: 'auditor' });
    const { context: rc, page: rp, errors: rErrors } = await openConsole(browser, svc, { context: { viewport: { width: 1280, height: 900 } }, token: reader.token });
    const groupId = (await admin.ok('GET', '/groups/Shared%20laptops')).id;
    // Buttons that only read: filters, paging, export, sign-out.
    const READ_ONLY = new Set(['Export CSV', 'Apply filter', 'Clear filter', 'Show older', 'Previous', 'Next', 'Sign out']);
    const pages: [string, string][] = [
      ['#/licences', 'Licences'], [`#/licences/${SKU}`, 'Microsoft 365 Apps for enterprise (device)'], [`#/licences/${SKU}/${subId}`, 'EA 2026'],
      ['#/groups', 'Groups'], [`#/groups/${groupId}`, 'Shared laptops'], ['#/devices', 'Devices'], [`#/devices/${lab[0].deviceId}`, 'lab-01'],
      ['#/audit', 'Audit log'], ['#/enroll-tokens', 'Enrollment tokens'], ['#/admins', 'Admins'],
    ];
    for (const [hash, h1] of pages) {
      await rp.goto(`${svc.url}/${hash}`);
      await rp.getByRole('heading', { level: 1, name: h1, exact: true }).waitFor();
      const buttons = await rp.locator('button:visible, [role="menuitem"]').evaluateAll((bs) => bs.map((b) => (b.textContent ?? '').trim()));
      expect(buttons.filter((b) => !READ_ONLY.has(b)), `${hash}: action buttons shown to a reader`).toEqual([]);
      expect(await rp.locator('main#main form:not(.filters-form)').count(), `${hash}: forms that change something`).toBe(0);
    }
    await screenshot(rp, 'reader-admins');
    await rc.close();
    expect(rErrors).toEqual([]);
  });

  it('raised no page errors and no CSP violations', () => {
    // Expected: the 428s that asked for a confirmation, the 409s of the refused group delete and self-revoke.
    expect(errors.filter((e) => !/status of (409|428)/.test(e))).toEqual([]);
  });
});
