// The console's pages for per-user licences (issue 16) in Debian's Chromium
// against a real devlic-server: a global-admin creates a user group, adds
// people by sign-in name (the service's normalisation shown, a refused name's
// message shown and nothing added), assigns a user product's subscription
// and sees its seats counted as people (the third person of a two-seat
// subscription gets SEATS_EXHAUSTED, and the seat when another leaves),
// unassigns and assigns again from the subscription's page. A reader sees
// the same pages with no change control (and the service refuses the change
// anyway). The fleet view shows the licence each signed-in person used.
// Hostile group and sign-in names stay text (a `__pwned` binding observes
// that nothing ran), and axe-core finds no violation on the new pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { launch, skipWithoutChromium, openConsole, screenshot } from './browser.ts';
import { axeViolations } from './axe.ts';

const USER_SKU = 'M365_APPS_ENTERPRISE_USER';
const DEVICE_SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const p = (where: string) => `__pwned('${where}')`;
/** Markup as a group name: admins may name groups anything printable. */
const HOSTILE_GROUP = `<img src=x onerror=${p('user-group')}>`;
/** Refused by the service (`<`, `=` and `>` are not in account names): its message repeats the input. */
const REFUSED_NAME = `<img src=x onerror=${p('sign-in-name')}>`;
/** Accepted: `'` and `&` are allowed in account names, and must show as typed. */
const ODD_NAME = `o'brien&co@school.example`;
/** Device-reported names are not normalised by the service: markup reaches the fleet view. */
const REPORTED_MARKUP = `<svg onload=${p('reported-user')}>`;

const run = describe.skipIf(skipWithoutChromium('the console user group tests'));

run('console: user groups and user licences in Chromium', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let subId = '';
  let groupId = '';
  let deviceId = '';
  let readerToken = '';
  const fired: string[] = [];

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService(), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    subId = (await admin.ok('POST', '/subscriptions', { product: USER_SKU, seats: 2, name: 'Staff 2026' })).id;
    await admin.ok('POST', '/subscriptions', { product: DEVICE_SKU, seats: 1, name: 'Lab devices' });
    readerToken = (await admin.ok('POST', '/admins', { role: 'reader', name: 'helpdesk' })).token;
    // A device whose agent reports two people: one full by her own licence, one read-only.
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
    const d = new SimDevice(svc.url, fakeFacts('lab-07'));
    expect((await d.enroll(t.token)).status).toBe(201);
    deviceId = d.deviceId;
    const c = claimsOf((await d.entitlement()).body.token);
    expect(c.status).toBe('unlicensed');
    expect(await d.report({
      mode: 'read-only', reason: c.reason, agentVersion: '0.1.0-sim', lastError: null, cacheExpiresAt: new Date(c.exp * 1000).toISOString(), entitlementSeq: c.seq,
      users: [{ name: 'alice@contoso', mode: 'full', licence: 'user' }, { name: 'dave', mode: 'read-only', licence: null }, { name: REPORTED_MARKUP, mode: 'read-only', licence: null }],
    })).toBe(204);

    ({ context, page, errors } = await openConsole(browser, svc, {
      timeoutMs: 10_000,
      prepare: (c) => c.exposeBinding('__pwned', (_src, where: string) => { fired.push(String(where)); }),
    }));
  }, 120_000);

  afterAll(async () => { await context?.close(); await browser?.close(); await svc?.stop(); });

  const members = async (id = groupId) => (await admin.ok('GET', `/user-groups/${id}`)).members as string[];
  const licenceOf = async (user: string) => admin.ok('GET', `/users/${encodeURIComponent(user)}/license`);
  const addUser = async (name: string, result: string) => {
    await page.getByLabel('Sign-in name').fill(name);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#add-user-result', { hasText: result }).waitFor();
  };
  const personRow = (u: string) => page.locator(`#user-group-members tr[data-user="${u}"]`);

  it('creates a user group from the navigation', async () => {
    await page.getByRole('link', { name: 'User groups', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'User groups' }).waitFor();
    expect(await page.getByText('No user groups yet.').count()).toBe(1);
    await page.getByLabel('Name', { exact: true }).fill('Teachers');
    await page.getByRole('button', { name: 'Create user group' }).click();
    await page.getByRole('heading', { level: 1, name: 'Teachers' }).waitFor();
    groupId = decodeURIComponent(page.url().split('#/user-groups/')[1]);
    expect(groupId).toMatch(/^ugr_/);
    expect((await admin.ok('GET', `/user-groups/${groupId}`)).name).toBe('Teachers');
    expect(await page.locator('#user-group-licence').textContent()).toContain('No licence');
  });

  it('adds people by sign-in name, showing how the service stored each and its refusal', async () => {
    await addUser('CONTOSO\\Alice', 'Added CONTOSO\\Alice as alice@contoso.');
    await addUser('bob', 'Added bob.');
    await addUser('Carol@School.Example', 'Added Carol@School.Example as carol@school.example.');
    expect(await members()).toEqual(['alice@contoso', 'bob', 'carol@school.example']);
    // Another spelling of someone already there adds nobody.
    await addUser('alice@CONTOSO', 'alice@CONTOSO is already in Teachers.');
    // A refused name: the service's message is shown next to the field, the field is marked invalid, nothing is added.
    await page.getByLabel('Sign-in name').fill('staff:teachers');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const err = page.locator('#add-user-error');
    await err.filter({ hasText: 'Not added' }).waitFor();
    expect(await err.textContent()).toBe(`Not added: "staff:teachers": sign-in name contains ':', which account names cannot hold`);
    expect(await page.getByLabel('Sign-in name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Sign-in name').inputValue()).toBe('staff:teachers');
    expect(await members()).toEqual(['alice@contoso', 'bob', 'carol@school.example']);
    expect(await page.locator('#user-group-members tbody tr').count()).toBe(3);
    expect(await page.locator('#user-group-count').textContent()).toBe('User group · 3 people');
    await screenshot(page, 'user-group-refused-name');
  });

  it('assigns a user licence and counts its seats as people', async () => {
    await page.getByRole('button', { name: 'Assign a licence' }).click();
    const dlg = page.getByRole('dialog', { name: 'Assign a licence' });
    await dlg.waitFor();
    // Only user products' subscriptions are offered (a device subscription would be refused: WRONG_PRODUCT_KIND).
    expect(await dlg.locator('#assign-subscription option').allTextContents()).toEqual(['Staff 2026 — Microsoft 365 Apps for enterprise (user): 0 of 2 seats used']);
    await dlg.getByRole('button', { name: 'Assign' }).click();
    await dlg.waitFor({ state: 'detached' });
    await page.locator('#user-group-seats', { hasText: '2 seats for people: 2 people hold one, 0 available.' }).waitFor();
    // Seats go in the order people were added: the third gets none.
    expect(await personRow('alice@contoso').locator('[data-label="Licence"]').textContent()).toBe('Seat: Staff 2026');
    expect(await personRow('bob').locator('[data-label="Licence"]').textContent()).toBe('Seat: Staff 2026');
    expect(await personRow('carol@school.example').locator('[data-label="Licence"]').textContent()).toContain('SEATS_EXHAUSTED');
    expect((await licenceOf('carol@school.example')).reason).toBe('SEATS_EXHAUSTED');
    await screenshot(page, 'user-group-licensed');

    await page.goto(`${svc.url}/#/licences`);
    await page.getByRole('heading', { level: 1, name: 'Licences' }).waitFor();
    const productRow = page.locator('tr', { has: page.getByRole('link', { name: 'Microsoft 365 Apps for enterprise (user)' }) });
    expect(await productRow.locator('[data-label="Seats for"]').textContent()).toBe('people');
    await page.goto(`${svc.url}/#/licences/${USER_SKU}`);
    await page.getByRole('heading', { level: 1, name: 'Microsoft 365 Apps for enterprise (user)' }).waitFor();
    const subRow = page.locator('tr', { has: page.getByRole('link', { name: 'Staff 2026' }) });
    expect(await subRow.locator('[data-label="People without a seat"]').textContent()).toBe('1 without a seat');
    expect(await subRow.locator('[data-label="Assigned to"]').textContent()).toBe('Teachers');
    await page.goto(`${svc.url}/#/licences/${USER_SKU}/${subId}`);
    await page.getByRole('heading', { level: 1, name: 'Staff 2026' }).waitFor();
    expect(await page.locator('#subscription-seats').textContent()).toBe('2 seats for people: 2 people hold one, 0 available.');
    expect(await page.locator('#people-without-seat .warn-text').textContent()).toBe('1 person is in an assigned user group but got no seat (SEATS_EXHAUSTED).');
    expect(await page.getByRole('heading', { level: 2, name: 'User groups' }).count()).toBe(1);
    expect(await page.locator('tr[data-user-group="Teachers"] [data-label="People"]').textContent()).toBe('3');
  });

  // The service asks before it takes a person's licence (428 CONFIRMATION_REQUIRED with the people it would take);
  // the console shows that in guard.js's confirmation and sends confirm only after the admin goes ahead.
  it('removing a licensed person asks first, naming them, then gives the seat to the next person', async () => {
    await page.goto(`${svc.url}/#/user-groups/${groupId}`);
    await page.getByRole('heading', { level: 1, name: 'Teachers' }).waitFor();
    await page.getByRole('button', { name: 'Remove bob from Teachers' }).click();
    const dlg = page.getByRole('dialog', { name: 'Remove bob?' });
    await dlg.waitFor();
    expect(await dlg.locator('[data-impact-people]').textContent()).toBe('1 person loses their user licence: bob.');
    expect(await members()).toContain('bob'); // nothing changed before the answer
    await dlg.getByRole('button', { name: 'Remove', exact: true }).click();
    await personRow('bob').waitFor({ state: 'detached' });
    await personRow('carol@school.example').locator('[data-label="Licence"]', { hasText: 'Seat: Staff 2026' }).waitFor();
    expect(await members()).toEqual(['alice@contoso', 'carol@school.example']);
    expect((await licenceOf('carol@school.example')).status).toBe('licensed');
  });

  it('unassigns and assigns again from the subscription page', async () => {
    await page.goto(`${svc.url}/#/licences/${USER_SKU}/${subId}`);
    await page.getByRole('heading', { level: 1, name: 'Staff 2026' }).waitFor();
    await page.getByRole('button', { name: 'Unassign Staff 2026 from Teachers' }).click();
    const ask = page.getByRole('dialog', { name: 'Unassign licences?' });
    await ask.waitFor();
    expect(await ask.locator('[data-impact-people]').getAttribute('data-impact-people')).toBe('2');
    await ask.getByRole('button', { name: 'Unassign', exact: true }).click();
    await page.getByText('This subscription is not assigned to any user group yet.').waitFor();
    expect((await admin.ok('GET', '/user-licenses')).items).toEqual([]);
    expect((await licenceOf('alice@contoso')).status).toBe('unlicensed');
    // Focus lands on the Assign button that stays, not on the page body.
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe('assign-button');

    await page.getByRole('button', { name: 'Assign licences' }).click();
    const dlg = page.getByRole('dialog', { name: 'Assign licences' });
    await dlg.waitFor();
    expect(await dlg.locator('#assign-user-group option').allTextContents()).toEqual(['Teachers (2 people)']);
    await dlg.getByRole('button', { name: 'Assign' }).click();
    await page.locator('tr[data-user-group="Teachers"]').waitFor();
    expect(await page.locator('#subscription-seats').textContent()).toBe('2 seats for people: 2 people hold one, 0 available.');
    expect((await licenceOf('alice@contoso')).status).toBe('licensed');
  });

  it('the audit log names the user group and the people of each change', async () => {
    await page.goto(`${svc.url}/#/audit?action=user-group.add-users`);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    const rows = page.locator('tr[data-action="user-group.add-users"]');
    await rows.first().waitFor();
    // Newest first: the second spelling of alice (audited: added nobody, already a member), carol, bob, alice; the refused name is not there.
    expect(await rows.locator('[data-label="What"]').allTextContents()).toEqual(Array(4).fill('Added people to user group'));
    expect(await rows.locator('[data-label="Details"]').allTextContents()).toEqual(['already members: alice@contoso', 'users: carol@school.example', 'users: bob', 'users: alice@contoso']);
    const target = rows.first().locator('[data-label="Target"] a');
    expect([await target.textContent(), await target.getAttribute('href')]).toEqual(['Teachers', `#/user-groups/${groupId}`]);
  });

  it('shows each signed-in person\'s licence in the fleet view and on the device page', async () => {
    await page.goto(`${svc.url}/#/devices`);
    const row = page.locator(`tr[data-device-id="${deviceId}"]`);
    await row.waitFor();
    expect(await row.locator('[data-label="Signed-in users"]').textContent())
      .toBe(`alice@contoso (full, user licence), dave (read-only), ${REPORTED_MARKUP} (read-only)`);
    await page.goto(`${svc.url}/#/devices/${deviceId}`);
    await page.getByRole('table', { name: 'Recent reports' }).waitFor();
    expect(await page.locator('dt', { hasText: 'Signed-in users' }).locator('xpath=following-sibling::dd[1]').textContent()).toContain('alice@contoso — full, user licence');
    expect(await page.getByRole('table', { name: 'Recent reports' }).locator('[data-label="Signed-in users"]').first().textContent()).toContain('alice@contoso (full, user licence)');
    expect(await page.locator('main#main svg').count()).toBe(0);
  });

  it('names the person behind a reported name on the device page while a sign-in domain alias maps it', async () => {
    await admin.ok('POST', '/sign-in-domains', { netbios: 'CONTOSO', dns: 'contoso.example.com' });
    try {
      // Away and back: the page reads the device again.
      await page.goto(`${svc.url}/#/devices`);
      await page.locator(`tr[data-device-id="${deviceId}"]`).waitFor();
      await page.goto(`${svc.url}/#/devices/${deviceId}`);
      const dd = page.locator('dt', { hasText: 'Signed-in users' }).locator('xpath=following-sibling::dd[1]');
      await page.getByRole('table', { name: 'Recent reports' }).waitFor();
      expect(await dd.textContent()).toContain('alice@contoso (alice@contoso.example.com) — full, user licence');
      expect(await dd.textContent()).toContain('dave — read-only');
    } finally {
      await admin.ok('POST', '/sign-in-domains/CONTOSO/remove', { confirm: true });
    }
  });

  it('a reader sees the user groups and the licence with no change control, and the service refuses one', async () => {
    const { context: rc, page: rp, errors: rErrors } = await openConsole(browser, svc, { token: readerToken, timeoutMs: 10_000 });
    await rp.goto(`${svc.url}/#/user-groups`);
    await rp.getByRole('link', { name: 'Teachers' }).waitFor();
    expect(await rp.locator('#new-user-group-name').count()).toBe(0);
    expect(await rp.getByRole('button', { name: 'Create user group' }).count()).toBe(0);
    await rp.getByRole('link', { name: 'Teachers' }).click();
    await rp.getByRole('heading', { level: 1, name: 'Teachers' }).waitFor();
    await rp.locator('#user-group-members tr[data-user="alice@contoso"]').waitFor();
    expect(await rp.locator('#user-group-licence').textContent()).toContain('Staff 2026');
    expect(await rp.locator('#add-user-name, #unassign-user-licence, #assign-user-licence').count()).toBe(0);
    expect(await rp.locator('main#main button').count()).toBe(0);
    await rp.goto(`${svc.url}/#/licences/${USER_SKU}/${subId}`);
    await rp.locator('tr[data-user-group="Teachers"]').waitFor();
    expect(await rp.locator('main#main button').count()).toBe(0);
    await screenshot(rp, 'reader-user-subscription');
    // What the console does not offer, the service refuses.
    const asReader = adminClient(svc.url, readerToken);
    expect((await asReader.post(`/user-groups/${groupId}/users`, { users: ['mallory'] })).status).toBe(403);
    expect((await asReader.post('/user-licenses/unassign', { subscription: subId, userGroup: groupId })).status).toBe(403);
    expect(await members()).toEqual(['alice@contoso', 'carol@school.example']);
    await rc.close();
    expect(rErrors).toEqual([]);
  });

  it('shows hostile group and sign-in names as text, and nothing runs', async () => {
    const hostileId = (await admin.ok('POST', '/user-groups', { name: HOSTILE_GROUP })).id;
    await page.goto(`${svc.url}/#/user-groups/${hostileId}`);
    await page.getByRole('heading', { level: 1, name: HOSTILE_GROUP }).waitFor();
    await page.getByLabel('Sign-in name').fill(REFUSED_NAME);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#add-user-error').filter({ hasText: 'Not added' }).waitFor();
    expect(await page.locator('#add-user-error').textContent()).toContain(JSON.stringify(REFUSED_NAME));
    expect(await members(hostileId)).toEqual([]);
    await addUser(ODD_NAME, `Added ${ODD_NAME}.`);
    expect(await personRow(ODD_NAME).locator('th').textContent()).toBe(ODD_NAME);
    expect(await page.getByRole('button', { name: `Remove ${ODD_NAME} from ${HOSTILE_GROUP}` }).count()).toBe(1);
    await page.goto(`${svc.url}/#/user-groups`);
    await page.getByRole('link', { name: HOSTILE_GROUP }).waitFor();
    const main = page.locator('main#main');
    expect(await main.textContent()).toContain(HOSTILE_GROUP);
    expect(await main.locator('img, svg, script, iframe, object, embed').count()).toBe(0);
    const handlers = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('*')]
      .flatMap((el: any) => [...el.attributes].filter((a: any) => /^on/i.test(a.name)).map((a: any) => `${el.tagName} ${a.name}`)));
    expect(handlers).toEqual([]);
    await waitFor('the page to settle', () => page.evaluate(() => (globalThis as any).document.readyState === 'complete'));
    expect(fired).toEqual([]);
  });

  it('the new pages and dialogs have no axe-core violations', async () => {
    const found: Record<string, unknown> = {};
    const check = async (name: string) => { const v = await axeViolations(page); if (v.length) found[name] = v; };
    await page.goto(`${svc.url}/#/user-groups`);
    await page.getByRole('heading', { level: 1, name: 'User groups' }).waitFor();
    await check('user groups');
    await page.goto(`${svc.url}/#/user-groups/${groupId}`);
    await page.locator('#user-group-members').waitFor();
    await check('user group (licensed)');
    // The refused-name state: the error and aria-invalid on the field.
    await page.getByLabel('Sign-in name').fill('a;b');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#add-user-error').filter({ hasText: 'Not added' }).waitFor();
    await check('user group (refused name)');
    const free = (await admin.ok('POST', '/user-groups', { name: 'Office staff' })).id;
    await page.goto(`${svc.url}/#/user-groups/${free}`);
    await page.getByRole('button', { name: 'Assign a licence' }).click();
    await page.getByRole('dialog', { name: 'Assign a licence' }).waitFor();
    await check('assign a licence dialog');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.goto(`${svc.url}/#/licences/${USER_SKU}`);
    await page.getByRole('heading', { level: 1, name: 'Microsoft 365 Apps for enterprise (user)' }).waitFor();
    await check('user product');
    await page.goto(`${svc.url}/#/licences/${USER_SKU}/${subId}`);
    await page.locator('tr[data-user-group="Teachers"]').waitFor();
    await check('user subscription');
    await page.getByRole('button', { name: 'Assign licences' }).click();
    await page.getByRole('dialog', { name: 'Assign licences' }).waitFor();
    await check('assign to a user group dialog');
    await page.keyboard.press('Escape');
    expect(found).toEqual({});
  });

  it('raised no page errors', () => {
    // The expected ones: the 400s of the refused sign-in names and the two 428s the guard turns into a confirmation.
    expect(errors.filter((e) => /status of 428/.test(e))).toHaveLength(2);
    expect(errors.filter((e) => !/status of (400|428)/.test(e))).toEqual([]);
    expect(fired).toEqual([]);
  });
});
