// The console's user pages follow other admins' changes live (issue 16), in
// Debian's Chromium against a real devlic-server: a user group's page, the
// user groups list and a user product's subscription page, each left open,
// show a change made by the real devlic-admin or the REST API without a
// reload (a mark set on the window survives, so nothing reloaded it), for a
// reader as for a global-admin. A group's page reads its people in ONE
// request per page (counted in the browser) and shows the answers the
// per-person endpoint gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Request } from 'playwright-core';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, runAdminCli, type AdminClient } from '../helpers/admin.ts';
import { launch, skipWithoutChromium, openConsole } from './browser.ts';

const USER_SKU = 'M365_APPS_ENTERPRISE_USER';

const run = describe.skipIf(skipWithoutChromium('the console live user tests'));

run('console: user pages live and one request for a group\'s people', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let subId = '';
  let groupId = '';
  const requests: string[] = [];

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService(), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    subId = (await admin.ok('POST', '/subscriptions', { product: USER_SKU, seats: 2, name: 'Staff 2026' })).id;
    groupId = (await admin.ok('POST', '/user-groups', { name: 'Teachers' })).id;
    // 53 people: more than one page of the group's page (50).
    const people = ['alice@contoso', 'bob', 'carol@school.example', ...Array.from({ length: 50 }, (_, i) => `p${String(i).padStart(2, '0')}@school.example`)];
    await admin.ok('POST', '/user-groups/Teachers/users', { users: people });
    // A reader watches: live updates are for everyone who may read.
    const reader = (await admin.ok('POST', '/admins', { role: 'reader', name: 'helpdesk' })).token;
    ({ page, errors } = await openConsole(browser, svc, { token: reader }));
    page.on('request', (r: Request) => { if (r.url().includes('/v1/admin/')) requests.push(new URL(r.url()).pathname + new URL(r.url()).search); });
  }, 120_000);

  afterAll(async () => { await browser?.close(); await svc?.stop(); });

  const personRow = (u: string) => page.locator(`#user-group-members tr[data-user="${u}"]`);
  /** Set on the window: still there later means the page was not reloaded. */
  const mark = () => page.evaluate(() => { (globalThis as any).__noReload = true; });
  const notReloaded = async () => expect(await page.evaluate(() => (globalThis as any).__noReload)).toBe(true);
  const open = async (hash: string, heading: string) => {
    await page.goto(`${svc.url}/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.locator('#live-state[data-state="live"]').waitFor();
    await mark();
  };

  it('reads a group\'s people in one request per page, with the answers of GET /users/NAME/license', async () => {
    // The list shows another admin's assign live; once it has, no event of it is left to reload the page below.
    await open('#/user-groups', 'User groups');
    await admin.ok('POST', '/user-licenses/assign', { subscription: subId, userGroup: groupId });
    await page.locator('tr[data-user-group="Teachers"]', { hasText: 'Staff 2026' }).waitFor();
    await notReloaded();
    requests.length = 0;
    await page.getByRole('link', { name: 'Teachers', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Teachers' }).waitFor();
    await personRow('alice@contoso').waitFor();
    const peopleReads = requests.filter((r) => r.startsWith(`/v1/admin/user-groups/${groupId}/users`));
    expect(peopleReads).toEqual([`/v1/admin/user-groups/${groupId}/users?offset=0&limit=50`]);
    expect(requests.filter((r) => r.startsWith('/v1/admin/users/'))).toEqual([]);
    const rows = page.locator('#user-group-members tbody tr');
    expect(await rows.count()).toBe(50);
    // Each shown answer is the per-person endpoint's: two seats (alice, bob), the rest SEATS_EXHAUSTED.
    for (const u of ['alice@contoso', 'bob', 'carol@school.example', 'p46@school.example']) {
      const l = await admin.ok('GET', `/users/${encodeURIComponent(u)}/license`);
      const text = await personRow(u).locator('td').first().textContent();
      if (l.status === 'licensed') expect(text).toBe('Seat: Staff 2026');
      else expect(text).toContain(l.reason);
    }
    expect(await personRow('bob').textContent()).toContain('Seat: Staff 2026');
    expect(await personRow('carol@school.example').textContent()).toContain('SEATS_EXHAUSTED');
    // The next page: again one request.
    requests.length = 0;
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await personRow('p49@school.example').waitFor();
    expect(await rows.count()).toBe(3);
    expect(requests.filter((r) => r.includes('/users'))).toEqual([`/v1/admin/user-groups/${groupId}/users?offset=50&limit=50`]);
    await page.getByRole('button', { name: 'Previous', exact: true }).click();
    await personRow('alice@contoso').waitFor();
  });

  it('a group\'s page shows devlic-admin\'s unassign and assign, and REST\'s add and remove, without a reload', async () => {
    const un = await runAdminCli(svc, ['licenses', 'unassign', '--subscription', 'Staff 2026', '--user-group', 'Teachers', '--yes']);
    expect(un.code, un.err).toBe(0);
    await personRow('alice@contoso').filter({ hasText: 'NOT_IN_LICENSED_GROUP' }).waitFor();
    await page.locator('#user-group-licence', { hasText: 'No licence' }).waitFor();
    const as = await runAdminCli(svc, ['licenses', 'assign', '--subscription', 'Staff 2026', '--user-group', 'Teachers']);
    expect(as.code, as.err).toBe(0);
    await personRow('alice@contoso').filter({ hasText: 'Seat: Staff 2026' }).waitFor();
    await page.locator('#user-group-seats', { hasText: '2 seats for people: 2 people hold one, 0 available.' }).waitFor();
    // Removing the first person moves everyone up a place: bob keeps his seat, carol gets alice's.
    await admin.ok('POST', '/user-groups/Teachers/users/remove', { users: ['alice@contoso'], confirm: true });
    await personRow('alice@contoso').waitFor({ state: 'detached' });
    await personRow('carol@school.example').filter({ hasText: 'Seat: Staff 2026' }).waitFor();
    await page.locator('#user-group-count', { hasText: 'User group · 52 people' }).waitFor();
    await admin.ok('POST', '/user-groups/Teachers/users', { users: ['CONTOSO\\Alice'] });
    await page.locator('#user-group-count', { hasText: 'User group · 53 people' }).waitFor();
    await notReloaded();
  });

  it('a person shown whose licence moves by a change that names no group updates too', async () => {
    // Fewer seats: the event names the people whose answer moved, not this group.
    await admin.ok('PATCH', `/subscriptions/${subId}`, { seats: 0, confirm: true });
    await personRow('bob').filter({ hasText: 'SEATS_EXHAUSTED' }).waitFor();
    await page.locator('#user-group-seats', { hasText: '0 seats for people: 0 people hold one, 0 available.' }).waitFor();
    await admin.ok('PATCH', `/subscriptions/${subId}`, { seats: 2 });
    await personRow('bob').filter({ hasText: 'Seat: Staff 2026' }).waitFor();
    await notReloaded();
  });

  it('the user groups list shows a group created and people added by devlic-admin without a reload', async () => {
    await open('#/user-groups', 'User groups');
    const r = await runAdminCli(svc, ['user-groups', 'create', 'Night shift']);
    expect(r.code, r.err).toBe(0);
    const night = page.locator('tr[data-user-group="Night shift"]');
    await night.waitFor();
    expect(await night.locator('td').first().textContent()).toBe('0');
    expect((await runAdminCli(svc, ['user-groups', 'add-users', 'Night shift', 'gina', 'hal'])).code).toBe(0);
    await night.filter({ has: page.locator('td:nth-child(2)', { hasText: /^2$/ }) }).waitFor();
    await notReloaded();
  });

  it('a user product\'s subscription page shows another admin\'s assign and its seats without a reload', async () => {
    const nightSub = (await admin.ok('POST', '/subscriptions', { product: USER_SKU, seats: 5, name: 'Night (user)' })).id;
    await open(`#/licences/${USER_SKU}/${nightSub}`, 'Night (user)');
    await page.getByText('This subscription is not assigned to any user group yet.').waitFor();
    await admin.ok('POST', '/user-licenses/assign', { subscription: nightSub, userGroup: 'Night shift' });
    await page.locator('tr[data-user-group="Night shift"]').waitFor();
    await page.locator('#subscription-seats', { hasText: '5 seats for people: 2 people hold one, 3 available.' }).waitFor();
    expect((await runAdminCli(svc, ['user-groups', 'add-users', 'Night shift', 'ivy'])).code).toBe(0);
    await page.locator('#subscription-seats', { hasText: '5 seats for people: 3 people hold one, 2 available.' }).waitFor();
    await notReloaded();
  });

  it('a change made while a page is still loading shows once it has loaded (its event is kept for the page)', async () => {
    const night = await admin.ok('GET', '/user-groups/Night%20shift');
    await open('#/user-groups', 'User groups');
    const eventsSeen = async () => Number(await page.locator('#live-state').getAttribute('data-events') ?? '0');
    // The group page's first read (the group, with its count) is answered from before the change and held
    // until the change's event has reached the page; what the page reads after that is answered as it comes.
    let release: () => Promise<void> = async () => {};
    let holding = true;
    let heldOne = false;
    const groupRead = (u: URL) => u.pathname === `/v1/admin/user-groups/${night.id}`;
    await page.route(groupRead, async (route) => {
      if (!holding) { await route.continue(); return; }
      holding = false;
      const stale = await route.fetch();
      release = () => route.fulfill({ response: stale });
      heldOne = true;
    });
    await page.evaluate((hash) => { (globalThis as any).location.hash = hash; }, `#/user-groups/${night.id}`);
    await expect.poll(() => heldOne, { timeout: 30_000 }).toBe(true);
    const before = await eventsSeen();
    await admin.ok('POST', '/user-groups/Night%20shift/users', { users: ['joy'] });
    await expect.poll(eventsSeen, { timeout: 30_000 }).toBeGreaterThan(before);
    await release();
    await page.getByRole('heading', { level: 1, name: 'Night shift' }).waitFor();
    await page.locator('#user-group-count', { hasText: `User group · ${night.members.length + 1} people` }).waitFor();
    await page.unroute(groupRead);
    await notReloaded();
    expect(errors).toEqual([]);
  });
});
