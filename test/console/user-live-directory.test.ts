// A directory user group's page left open in Chromium (issue 16) follows a
// directory sync run by devlic-admin against a real OpenLDAP
// (test/helpers/slapd.ts): a person added to the directory group appears with
// their seat, a person taken out disappears and the seat count follows, with
// no reload of the page (the sync's `users` event, service/http/admin-events.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, runAdminCli, type AdminClient } from '../helpers/admin.ts';
import { READER_DN, SLAPD_MISSING, SUFFIX, groupDn, groupLdif, startSlapd, userDn, userLdif, type Slapd } from '../helpers/slapd.ts';
import { launch, skipWithoutChromium, openConsole } from './browser.ts';

describe.skipIf(skipWithoutChromium('the live directory user group test', SLAPD_MISSING))('console: a directory user group\'s page follows a sync live', () => {
  let ldap: Slapd;
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let groupId = '';
  const staff = groupDn('Staff');

  beforeAll(async () => {
    [ldap, svc, browser] = await Promise.all([
      startSlapd([userLdif('Alice', { upn: 'alice@corp.example' }), userLdif('Bob', { upn: 'bob@corp.example' }), userLdif('Carol', { upn: 'carol@corp.example' }),
        groupLdif('Staff', [userDn('Alice'), userDn('Bob')])].join('\n')),
      startService(), launch(),
    ]);
    admin = adminClient(svc.url, svc.adminToken);
    await admin.ok('POST', '/directories', { name: 'corp', url: ldap.url, bindDn: READER_DN, password: ldap.readerPassword, baseDn: SUFFIX });
    // A new directory's first periodic sync is due at once: let it run before anything below depends on which sync moved whom.
    await waitFor('the first periodic sync of corp', async () => (await admin.ok('GET', '/directories/corp')).lastSync !== null, 60_000, 200);
    groupId = (await admin.ok('POST', '/user-groups', { name: 'Staff', directory: 'corp', dn: staff })).id;
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 2, name: 'Staff (user)' });
    await admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff (user)', userGroup: 'Staff' });
    expect((await admin.ok('GET', `/user-groups/${groupId}`)).members).toEqual(['alice@corp.example', 'bob@corp.example']);
    ({ page, errors } = await openConsole(browser, svc));
  }, 120_000);
  afterAll(async () => { await browser?.close(); await svc?.stop(); await ldap?.stop(); });

  const personRow = (u: string) => page.locator(`#user-group-members tr[data-user="${u}"]`);

  it('shows people the sync adds and removes, with their seats, without a reload', async () => {
    await page.goto(`${svc.url}/#/user-groups/${groupId}`);
    await page.getByRole('heading', { level: 1, name: 'Staff' }).waitFor();
    await personRow('bob@corp.example').filter({ hasText: 'Seat: Staff (user)' }).waitFor();
    await page.locator('#live-state[data-state="live"]').waitFor();
    await page.evaluate(() => { (globalThis as any).__noReload = true; });

    // Alice leaves the directory group, Carol joins: Carol takes the seat Alice frees.
    await ldap.modify(`dn: ${staff}\nchangetype: modify\ndelete: member\nmember: ${userDn('Alice')}\n-\nadd: member\nmember: ${userDn('Carol')}\n`);
    const sync = await runAdminCli(svc, ['directories', 'sync', 'corp']);
    expect(sync.code, sync.err).toBe(0);
    await personRow('carol@corp.example').filter({ hasText: 'Seat: Staff (user)' }).waitFor();
    await personRow('alice@corp.example').waitFor({ state: 'detached' });
    await page.locator('#user-group-seats', { hasText: '2 seats for people: 2 people hold one, 0 available.' }).waitFor();
    expect(await page.locator('#user-group-members tbody tr').count()).toBe(2);
    expect(await page.evaluate(() => (globalThis as any).__noReload)).toBe(true);
    expect(errors).toEqual([]);
  });
});
