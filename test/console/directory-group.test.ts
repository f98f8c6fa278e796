// The group page of a directory group (issue 14) in a real browser, against a
// real OpenLDAP (test/helpers/slapd.ts): its members follow the directory, so
// the page offers no "Add a device", no per-member Remove and no rule editor
// (the service would refuse them with GROUP_IS_DIRECTORY_BASED), and it says
// which directory group it follows. A manual group in the same run still
// offers all three.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { READER_DN, SLAPD_MISSING, SLAPD_REQUIRED, SUFFIX, computerDn, computerLdif, groupDn, groupLdif, startSlapd, type Slapd } from '../helpers/slapd.ts';
import { launch, missing, required, signIn, watchErrors } from './browser.ts';

const absent = missing ?? SLAPD_MISSING;
if (absent && (required || SLAPD_REQUIRED)) {
  it('has Chromium and slapd for the directory group page test (DEVLIC_REQUIRE_REAL_APPS=1)', () => { throw new Error(absent); });
}
if (absent && !required && !SLAPD_REQUIRED) console.warn(`\n!!!!!!!! SKIPPING the console directory group test: ${absent}.\n`);

describe.skipIf(absent)('console: a directory group offers no hand edits', () => {
  let ldap: Slapd;
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let dirGroup = '';
  let manualGroup = '';
  const dn = groupDn('Shared laptops');

  beforeAll(async () => {
    [ldap, svc, browser] = await Promise.all([
      startSlapd([computerLdif('lab-01', 'lab-01.corp.example'), groupLdif('Shared laptops', [computerDn('lab-01')])].join('\n')),
      startService(), launch(),
    ]);
    admin = adminClient(svc.url, svc.adminToken);
    await admin.ok('POST', '/directories', { name: 'corp', url: ldap.url, bindDn: READER_DN, password: ldap.readerPassword, baseDn: SUFFIX });
    manualGroup = (await admin.ok('POST', '/groups', { name: 'Front desk' })).id;
    dirGroup = (await admin.ok('POST', '/groups', { name: 'Shared laptops', directory: 'corp', dn })).id;
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 2, group: manualGroup });
    expect((await new SimDevice(svc.url, fakeFacts('desk-01')).enroll(t.token)).status).toBe(201);
    expect((await new SimDevice(svc.url, fakeFacts('lab-01')).enroll(t.token)).status).toBe(201);
    await admin.ok('POST', '/directories/corp/sync', {});
    // The directory member is really there, so "no Remove button" is not just an empty table.
    expect((await admin.ok('GET', `/groups/${dirGroup}`)).members.map((m: any) => [m.name, m.why])).toEqual([['lab-01', 'directory']]);
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    errors = watchErrors(page);
    await signIn(page, svc.url, svc.adminToken);
  }, 120_000);
  afterAll(async () => { await context?.close(); await browser?.close(); await svc?.stop(); await ldap?.stop(); });

  it('shows the directory group it follows and offers no add picker, Remove or rule editor', async () => {
    await page.goto(`${svc.url}/#/groups/${dirGroup}`);
    await page.getByRole('heading', { level: 1, name: 'Shared laptops' }).waitFor();
    await page.locator('tr[data-device-id]').first().waitFor();
    expect(await page.locator('#group-directory').textContent()).toBe(`Directory: corp (${dn})`);
    expect(await page.locator('#members-follow').textContent()).toBe(`Members follow the directory group ${dn} in corp.`);
    await expect(page.locator('tr[data-device-id]').allTextContents()).resolves.toEqual([expect.stringContaining('lab-01')]);
    expect(await page.locator('#add-device-search').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Remove lab-01 from/ }).count()).toBe(0);
    expect(await page.locator('#group-rule, #save-rule, #h-rule').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a manual group in the same run still offers the add picker, Remove and the rule editor', async () => {
    await page.goto(`${svc.url}/#/groups/${manualGroup}`);
    await page.getByRole('heading', { level: 1, name: 'Front desk' }).waitFor();
    await page.locator('#remove-rule').waitFor({ state: 'attached' });
    expect(await page.locator('#add-device-search').count()).toBe(1);
    expect(await page.getByRole('button', { name: /^Remove (desk-01|lab-01) from Front desk$/ }).count()).toBe(2);
    expect(await page.locator('#group-rule').count()).toBe(1);
    expect(await page.locator('#save-rule').count()).toBe(1);
    expect(await page.locator('#group-directory').count()).toBe(0);
    expect(await page.getByText('none (members added by hand)').count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
