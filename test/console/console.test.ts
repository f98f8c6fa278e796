// The admin console in a real browser (Debian's Chromium through
// playwright-core) against a real devlic-server process. The admin's flow as
// in Microsoft's admin centre: sign in, Licences > product > subscription >
// "Assign licences", type the group name, pick it, Assign, Close; the fleet
// view turns `full` live once the device reports; "…" > "Unassign licences"
// with a confirmation that counts the devices; `read-only` after the next
// report. A reader sees it all and cannot assign. The laptop is a real
// devlic-agent process (enrolled, long-polling, applying and reporting); a
// light SimDevice plays a second device whose reported strings are markup.
// Screenshots go to test-artifacts/screenshots/ (not committed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { TestAgent } from '../agent/helpers/agent.ts';
import { AGENT_VERSION } from '../../agent/version.ts';
import { launch, skipWithoutChromium, openConsole, screenshot, signIn, watchErrors } from './browser.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const XSS_HOST = '<img src=x onerror="window.__xss=1">';
const XSS_USER = '<script>window.__xss=2</script>';
const run = describe.skipIf(skipWithoutChromium('the admin console tests'));

/** What the agent does after an entitlement change: fetch it, apply, report the mode. */
async function syncAndReport(d: SimDevice, users: { name: string; mode: 'full' | 'read-only' }[] = []): Promise<'full' | 'read-only'> {
  const e = await d.entitlement();
  expect(e.status).toBe(200);
  const c = claimsOf(e.body.token);
  const mode = c.status === 'licensed' ? 'full' : 'read-only';
  expect(await d.report({
    mode, reason: c.reason, users: users.map((u) => ({ ...u, mode })), agentVersion: '0.1.0-sim',
    lastError: null, cacheExpiresAt: new Date(c.exp * 1000).toISOString(), entitlementSeq: c.seq,
  })).toBe(204);
  return mode;
}

run('admin console in Chromium', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let laptop: TestAgent;
  let laptopId = '';
  let hostile: SimDevice;
  let subId = '';
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (k: string, since: number) => { timings[k] = Date.now() - since; };

  beforeAll(async () => {
    const start = Date.now();
    [svc, browser] = await Promise.all([startService(), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    subId = (await admin.ok('POST', '/subscriptions', { product: SKU, seats: 20, name: 'EA 2026' })).id;
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_EDUCATION_DEVICE', seats: 5, name: 'EES 2026' });
    await admin.ok('POST', '/groups', { name: 'Shared laptops' });
    await admin.ok('POST', '/groups', { name: 'Library tablets' });
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 2, group: 'Shared laptops' });
    laptop = new TestAgent('lab-laptop-01');
    laptop.signedIn([{ user: 'anna', line: 'tty1' }]);
    hostile = new SimDevice(svc.url, fakeFacts(XSS_HOST));
    const enrolled = await laptop.enroll(svc.url, t.token);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    laptopId = (await laptop.status()).deviceId;
    expect((await hostile.enroll(t.token)).status).toBe(201);
    // The hostile device reports a user name that is markup, before anyone looks.
    await syncAndReport(hostile, [{ name: XSS_USER, mode: 'read-only' }]);
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(8_000);
    errors = watchErrors(page);
    mark('setup (server + Chromium + data)', start);
  });

  afterAll(async () => {
    await browser?.close();
    await laptop?.stop();
    await svc?.stop();
    console.log(`console browser test timings (ms): ${JSON.stringify({ ...timings, total: Date.now() - t0 })}`);
  });

  it('refuses a wrong token at sign-in with a clear message', async () => {
    await page.goto(svc.url);
    await page.getByLabel('Admin token').fill('not-a-token');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').getByText('That token is not valid for this service').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('devlic.adminToken'))).toBeNull();
  });

  it('signs in with the admin token and keeps it in sessionStorage only', async () => {
    const s = Date.now();
    await signIn(page, svc.url, svc.adminToken);
    expect(await page.evaluate(() => sessionStorage.getItem('devlic.adminToken'))).toBe(svc.adminToken);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.getByRole('heading', { level: 1, name: 'Licences' }).waitFor();
    mark('sign in', s);
    await page.getByRole('table', { name: 'Products and their seats' }).getByText('20').first().waitFor();
    await screenshot(page, 'licences-products');
  });

  it('assigns a subscription by typing the group name and picking it', async () => {
    const s = Date.now();
    await page.getByRole('link', { name: 'Microsoft 365 Apps for enterprise (device)' }).click();
    await page.getByRole('link', { name: 'EA 2026' }).click();
    await page.getByRole('heading', { level: 1, name: 'EA 2026' }).waitFor();
    await page.getByRole('button', { name: 'Assign licences' }).click();
    const dialog = page.getByRole('dialog', { name: 'Assign licences' });
    const search = dialog.getByRole('combobox', { name: 'Search for a group' });
    expect(await search.evaluate((el) => el === (globalThis as any).document.activeElement)).toBe(true); // focus starts in the search box
    await search.pressSequentially('Shared', { delay: 30 });
    await dialog.getByRole('option', { name: /Shared laptops/ }).click();
    await screenshot(page, 'assign-dialog');
    await dialog.getByRole('button', { name: 'Assign', exact: true }).click();
    await dialog.getByText('Licences assigned.').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.locator('tr[data-group="Shared laptops"]').waitFor();
    const assignments = await admin.ok('GET', '/licenses');
    expect(assignments.items.map((a: any) => [a.subscription.name, a.group.name])).toEqual([['EA 2026', 'Shared laptops']]);
    await screenshot(page, 'licences');
    mark('assign through the dialog', s);
  });

  it("shows the service's refusal when the group already has a subscription", async () => {
    await page.goto(`${svc.url}/#/licences`);
    await page.getByRole('link', { name: 'Microsoft 365 Apps for education (device)' }).click();
    await page.getByRole('link', { name: 'EES 2026' }).click();
    await page.getByRole('button', { name: 'Assign licences' }).click();
    const dialog = page.getByRole('dialog', { name: 'Assign licences' });
    await dialog.getByRole('combobox').pressSequentially('shared', { delay: 30 });
    // Keyboard only: arrow down to the option, Enter to pick it.
    await dialog.getByRole('option', { name: /Shared laptops.*already has EA 2026/ }).waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await dialog.getByRole('button', { name: 'Assign', exact: true }).click();
    const alert = dialog.getByRole('alert');
    await alert.getByText(/already has subscription 'EA 2026'/).waitFor();
    expect(await alert.textContent()).toContain("group 'Shared laptops' already has subscription 'EA 2026'; a group can have only one subscription");
    await screenshot(page, 'assign-refused');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect((await admin.ok('GET', '/licenses')).items).toHaveLength(1);
  });

  it('shows the device switch to full in the fleet view, live, once it reports', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    const row = page.locator(`tr[data-device-id="${laptopId}"]`);
    await row.getByText('Seat: EA 2026').waitFor();
    // Enrolled but its daemon not yet running: whatever it reported, it is not full.
    expect(await row.locator('[data-col="mode"] [data-mode="full"]').count()).toBe(0);
    await page.evaluate(() => { (globalThis as any).__noReload = true; });
    // The real agent starts: it syncs, applies `full` for anna and reports it.
    const s = Date.now();
    await laptop.start();
    await row.locator('[data-col="mode"] [data-mode="full"]').waitFor({ timeout: 10_000 });
    mark('agent start -> fleet row shows full (live)', s);
    expect(laptop.appMode()?.mode).toBe('full');
    expect(await page.evaluate(() => (globalThis as any).__noReload)).toBe(true); // updated in place, not reloaded
    expect(await row.textContent()).toContain('anna (full, device licence)');
    await page.locator('#announcer').getByText('lab-laptop-01 reports full').waitFor();

    // Device-reported strings are text, never markup.
    const bad = page.locator(`tr[data-device-id="${hostile.deviceId}"]`);
    expect(await bad.locator('th a').textContent()).toBe(XSS_HOST);
    expect(await bad.textContent()).toContain(XSS_USER);
    expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
    // Trusted Types in the CSP: even a stray innerHTML with a string would be refused by the browser.
    expect(await page.evaluate(() => { try { (globalThis as any).document.body.insertAdjacentHTML('beforeend', '<b>x</b>'); return 'allowed'; } catch (e) { return (e as Error).name; } })).toBe('TypeError');
    expect(await page.locator('main img').count()).toBe(0);
    await screenshot(page, 'fleet');

    // Filters run on the server: licensed shows both, read-only only the hostile one.
    await page.getByLabel('Read-only (last report)').check();
    await page.locator(`tr[data-device-id="${laptopId}"]`).waitFor({ state: 'detached' });
    expect(await page.locator('tbody tr[data-device-id]').count()).toBe(1);
    expect(page.url()).toContain('filter=read-only');
    await page.getByLabel('All', { exact: true }).check();
    await row.waitFor();
  });

  it('opens a device page with its recent reports', async () => {
    await page.getByRole('link', { name: 'lab-laptop-01' }).click();
    await page.getByRole('heading', { level: 1, name: 'lab-laptop-01' }).waitFor();
    await page.getByRole('table', { name: 'Recent reports' }).getByText(AGENT_VERSION).first().waitFor();
    await screenshot(page, 'device');
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
  });

  it('unassigns through the confirmation, which names the device count, and the device goes read-only', async () => {
    // The agent is stopped for the unassign, so the page can be seen before the device applies it.
    await laptop.stop();
    await page.goto(`${svc.url}/#/licences/${SKU}/${subId}`);
    await page.getByRole('heading', { level: 1, name: 'EA 2026' }).waitFor();
    const more = page.getByRole('button', { name: 'More actions for Shared laptops' });
    // Keyboard: ArrowDown opens the menu on its first item, Escape closes it and returns to the button.
    await more.focus();
    await page.keyboard.press('ArrowDown');
    const item = page.getByRole('menuitem', { name: 'Unassign licences' });
    expect(await item.evaluate((el) => el === (globalThis as any).document.activeElement)).toBe(true);
    await page.keyboard.press('Escape');
    await item.waitFor({ state: 'hidden' });
    expect(await more.evaluate((el) => el === (globalThis as any).document.activeElement)).toBe(true);
    await more.click();
    await item.click();
    const dialog = page.getByRole('dialog', { name: 'Unassign licences?' });
    await dialog.waitFor();
    // The count is the service's own (its 428 CONFIRMATION_REQUIRED answer), shown before anything changes.
    expect(await dialog.locator('[data-impact]').textContent()).toBe('2 devices go read-only.');
    expect((await admin.ok('GET', '/licenses')).items).toHaveLength(1);
    // The safe choice has focus: a stray Enter cancels.
    expect(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === (globalThis as any).document.activeElement)).toBe(true);
    await screenshot(page, 'unassign-confirm');
    await dialog.getByRole('button', { name: 'Unassign', exact: true }).click();
    await page.getByText('This subscription is not assigned to any group yet.').waitFor();
    expect((await admin.ok('GET', '/licenses')).items).toHaveLength(0);

    await page.getByRole('link', { name: 'Devices' }).click();
    const row = page.locator(`tr[data-device-id="${laptopId}"]`);
    await row.getByText('Not in a licensed group').waitFor();
    await row.getByText('not yet applied').waitFor(); // still full on the device until it reports
    const s = Date.now();
    await laptop.start();
    await row.locator('[data-col="mode"] [data-mode="read-only"]').waitFor({ timeout: 10_000 });
    mark('agent start -> fleet row shows read-only (live)', s);
    expect(laptop.appMode()?.mode).toBe('read-only');
    await screenshot(page, 'fleet-after-unassign');
  });

  it('creates a group, nests it, adds a device and shows members with their licence state', async () => {
    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Lab B');
    await page.getByRole('combobox', { name: 'Nested inside (optional)' }).pressSequentially('Library', { delay: 20 });
    await page.getByRole('option', { name: /Library tablets/ }).click();
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { level: 1, name: 'Lab B' }).waitFor();
    await page.getByRole('link', { name: 'Library tablets' }).waitFor(); // "Nested in"
    await page.getByRole('combobox', { name: 'Add a device' }).pressSequentially('lab-lap', { delay: 20 });
    await page.getByRole('option', { name: /lab-laptop-01/ }).click();
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const member = page.locator(`tr[data-device-id="${laptopId}"]`);
    await member.getByText('Not in a licensed group').waitFor();
    await member.locator('[data-mode="read-only"]').waitFor();
    expect((await admin.ok('GET', '/devices?group=Lab%20B')).total).toBe(1);
    await screenshot(page, 'group');
    await member.getByRole('button', { name: 'Remove lab-laptop-01 from Lab B' }).click();
    await page.getByText('No devices in this group directly.').waitFor();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'Assigned licences', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'Unassigned licences', exact: true }).waitFor();
    await screenshot(page, 'audit');
  });

  it('previews a rule live while typing it, and creates a rule group whose members follow it', async () => {
    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Lab laptops by rule');
    const rule = page.getByRole('textbox', { name: /^Rule \(optional\)/ });
    await rule.pressSequentially('hostname like', { delay: 10 });
    await page.getByText("rule: expected a value after 'like' at 14").waitFor();
    await rule.pressSequentially(' "lab-lap*"', { delay: 10 });
    await page.getByText(/^This rule matches 1 device \(of \d+ in service\)\.$/).waitFor();
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { level: 1, name: 'Lab laptops by rule' }).waitFor();
    await page.getByText('hostname like "lab-lap*"').waitFor();
    await page.locator(`tr[data-device-id="${laptopId}"]`).waitFor();
    expect((await admin.ok('GET', '/groups/Lab%20laptops%20by%20rule')).members.map((m: any) => m.why)).toEqual(['rule']);
  });

  it('tags a device on its page, edits a rule on the group page with the live preview, and takes the rule away (members stay, as manual)', async () => {
    await page.goto(`${svc.url}/#/devices/${laptopId}`);
    await page.getByRole('heading', { level: 1, name: 'lab-laptop-01' }).waitFor();
    await page.getByText('No tags.').waitFor();
    await page.getByLabel(/^Add tags/).fill('Kiosk floor-2');
    await page.getByRole('button', { name: 'Add tags' }).click();
    await page.getByRole('button', { name: 'Remove tag floor-2' }).waitFor();
    expect((await admin.ok('GET', `/devices/${laptopId}`)).tags).toEqual(['floor-2', 'kiosk']);
    await page.getByRole('button', { name: 'Remove tag floor-2' }).click();
    await page.getByRole('button', { name: 'Remove tag floor-2' }).waitFor({ state: 'detached' });
    expect((await admin.ok('GET', `/devices/${laptopId}`)).tags).toEqual(['kiosk']);

    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    await page.getByRole('link', { name: 'Lab laptops by rule' }).click();
    await page.getByRole('heading', { level: 1, name: 'Lab laptops by rule' }).waitFor();
    const rule = page.getByRole('textbox', { name: /^Rule: members are/ });
    expect(await rule.inputValue()).toBe('hostname like "lab-lap*"');
    await rule.fill('tags == "nothing"');
    await page.getByText(/^This rule matches 0 devices \(of \d+ in service\)\.$/).waitFor();
    await rule.fill('tags == "kiosk"');
    await page.getByText(/^This rule matches 1 device \(of \d+ in service\)\.$/).waitFor();
    await page.getByRole('button', { name: 'Save rule' }).click();
    await waitFor('the new rule stored', async () => (await admin.ok('GET', '/groups/Lab%20laptops%20by%20rule')).rule === 'tags == "kiosk"');
    await page.locator(`tr[data-device-id="${laptopId}"]`).waitFor();
    // Hand edits are not offered while the group has a rule.
    expect(await page.getByRole('combobox', { name: 'Add a device' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Remove rule' }).click();
    await page.getByText('The rule was removed; the 1 member stays, now as members added by hand.').waitFor();
    await page.getByRole('combobox', { name: 'Add a device' }).waitFor();
    const g = await admin.ok('GET', '/groups/Lab%20laptops%20by%20rule');
    expect([g.rule, g.members.map((m: any) => m.why)]).toEqual([null, ['manual']]);
    expect(await page.getByRole('button', { name: 'Remove rule' }).isVisible()).toBe(false);
  });

  it('lays out the fleet view for a tablet in portrait', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.locator(`tr[data-device-id="${laptopId}"]`).waitFor();
    await screenshot(page, 'fleet-tablet');
    // No sideways scrolling of the page itself.
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(768);
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('lets a reader see everything and change nothing', async () => {
    const reader = await admin.ok('POST', '/admins', { role: 'reader', name: 'helpdesk' });
    const { context: rc, page: rp, errors: rErrors } = await openConsole(browser, svc, { token: reader.token });
    await rp.getByText("Readers can't change anything, so no actions are offered.").waitFor();
    await rp.goto(`${svc.url}/#/licences/${SKU}/${subId}`);
    await rp.getByRole('heading', { level: 1, name: 'EA 2026' }).waitFor();
    // No action is offered at all (the service would refuse it with 403); the banner says why.
    expect(await rp.getByRole('button', { name: 'Assign licences' }).count()).toBe(0);
    expect(await rp.locator('#reader-reason').isVisible()).toBe(true);
    // The fleet is fully visible to a reader.
    await rp.getByRole('link', { name: 'Devices' }).click();
    await rp.locator(`tr[data-device-id="${laptopId}"] [data-mode="read-only"]`).waitFor();
    await screenshot(rp, 'reader-fleet');
    // ...but not the hardware identifiers: the serial number is a short hash, said so.
    await rp.getByRole('link', { name: 'lab-laptop-01' }).click();
    const serial = rp.locator('dt', { hasText: 'Serial number (hashed)' }).locator('xpath=following-sibling::dd[1]');
    expect(await serial.textContent()).toMatch(/^sha256:[0-9a-f]{12}$/);
    await rc.close();
    expect(rErrors).toEqual([]);
  });

  it('raised no page errors and no CSP violations', () => {
    // The expected ones: the 401 of the wrong sign-in token, the 409 of the refused second subscription,
    // the 428 that asks to confirm the unassign, the 400 (RULE_INVALID) of the half-typed rule previewed on
    // purpose, and the one Trusted Types refusal the test provoked on purpose.
    expect(errors.filter((e) => /requires 'TrustedHTML'/.test(e))).toHaveLength(1);
    expect(errors.filter((e) => !/status of (400|401|409|428)|requires 'TrustedHTML'/.test(e))).toEqual([]);
  });
});
