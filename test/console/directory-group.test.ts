// The group page of a directory group (issue 14) in a real browser, against a
// real OpenLDAP (test/helpers/slapd.ts): its members follow the directory, so
// the page offers no "Add a device", no per-member Remove and no rule editor
// (the service would refuse them with GROUP_IS_DIRECTORY_BASED), and it says
// which directory group it follows. A manual group in the same run still
// offers all three. What the service does allow on a directory group, the
// page offers and carries out: nesting it inside another group and another
// group inside it, renaming (it keeps following its DN, and a sync after it
// still fills it) and deleting (the directory can then be removed); the
// rename and delete dialogs say that the directory itself is not changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { READER_DN, SLAPD_MISSING, SUFFIX, computerDn, computerLdif, groupDn, groupLdif, startSlapd, type Slapd } from '../helpers/slapd.ts';
import { launch, skipWithoutChromium, openConsole } from './browser.ts';

describe.skipIf(skipWithoutChromium('the directory group page test', SLAPD_MISSING))('console: a directory group offers what the service allows on it', () => {
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
    ({ context, page, errors } = await openConsole(browser, svc));
  }, 120_000);
  afterAll(async () => { await context?.close(); await browser?.close(); await svc?.stop(); await ldap?.stop(); });

  const heading = (name: string) => page.getByRole('heading', { level: 1, name }).waitFor();
  const pick = async (combobox: string, typed: string, option: RegExp) => {
    await page.getByRole('combobox', { name: combobox }).pressSequentially(typed, { delay: 20 });
    await page.getByRole('option', { name: option }).click();
  };

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

  it('nests the directory group inside a manual group and a manual group inside it, as the service allows', async () => {
    const spare = (await admin.ok('POST', '/groups', { name: 'Spare room' })).id;
    // Nest under: from the manual group's page, the directory group is offered and taken.
    await page.goto(`${svc.url}/#/groups/${manualGroup}`);
    await heading('Front desk');
    await pick('Nest a group inside', 'Shared', /Shared laptops/);
    await page.getByRole('button', { name: 'Nest', exact: true }).click();
    await page.locator(`#unnest-${dirGroup}`).waitFor();
    // Nest into: the directory group's own page offers the picker too.
    await page.goto(`${svc.url}/#/groups/${dirGroup}`);
    await heading('Shared laptops');
    await pick('Nest a group inside', 'Spare', /Spare room/);
    await page.getByRole('button', { name: 'Nest', exact: true }).click();
    await page.locator(`#unnest-${spare}`).waitFor();
    const g = await admin.ok('GET', `/groups/${dirGroup}`);
    expect([g.parents.map((p: any) => p.id), g.children.map((c: any) => c.id)]).toEqual([[manualGroup], [spare]]);
    expect(errors).toEqual([]);
  });

  it('renames the directory group, saying the directory is untouched; it still follows its DN and a sync still fills it', async () => {
    await page.goto(`${svc.url}/#/groups/${dirGroup}`);
    await heading('Shared laptops');
    await page.getByRole('button', { name: 'Rename' }).click();
    const rename = page.getByRole('dialog', { name: 'Rename group' });
    expect(await rename.locator('#rename-directory-note').textContent()).toBe(`The new name is devlic's only: the group still follows ${dn} in corp, and nothing changes in the directory.`);
    await rename.getByLabel('Name').fill('Lab laptops');
    await rename.getByRole('button', { name: 'Rename' }).click();
    await heading('Lab laptops');
    const g = await admin.ok('GET', `/groups/${dirGroup}`);
    expect([g.name, g.directory]).toEqual(['Lab laptops', { id: expect.any(String), name: 'corp', dn }]);
    await ldap.modify(`dn: ${computerDn('desk-01')}\nobjectClass: computer\ncn: desk-01\n`, { add: true });
    await ldap.modify(`dn: ${dn}\nchangetype: modify\nadd: member\nmember: ${computerDn('desk-01')}\n`);
    await admin.ok('POST', '/directories/corp/sync', {});
    expect((await admin.ok('GET', `/groups/${dirGroup}`)).members.map((m: any) => m.name).sort()).toEqual(['desk-01', 'lab-01']);
    expect(errors).toEqual([]);
  });

  it('deletes the directory group, saying the directory group is not changed; the directory can then be removed', async () => {
    await page.goto(`${svc.url}/#/groups/${dirGroup}`);
    await heading('Lab laptops');
    await page.getByRole('button', { name: 'Delete group' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete the group Lab laptops?' });
    expect(await dialog.locator('#delete-directory-note').textContent())
      .toBe(`The directory group ${dn} in corp is not changed: devlic only stops following it. Once no group follows corp, the connection can be removed.`);
    await dialog.getByRole('button', { name: 'Delete group' }).click();
    await heading('Groups');
    expect((await admin.get(`/groups/${dirGroup}`)).status).toBe(404);
    expect((await admin.ok('GET', '/directories/corp')).groups).toEqual([]);
    expect((await admin.ok('DELETE', '/directories/corp')).deleted).toBe(true);
    expect(errors).toEqual([]);
  });

  it('a manual group\'s rename and delete dialogs carry no directory note', async () => {
    await page.goto(`${svc.url}/#/groups/${manualGroup}`);
    await heading('Front desk');
    await page.getByRole('button', { name: 'Rename' }).click();
    const rename = page.getByRole('dialog', { name: 'Rename group' });
    await rename.getByLabel('Name').waitFor();
    expect(await rename.locator('#rename-directory-note').count()).toBe(0);
    await rename.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Delete group' }).click();
    const del = page.getByRole('dialog', { name: 'Delete the group Front desk?' });
    await del.getByRole('button', { name: 'Delete group' }).waitFor();
    expect(await del.locator('#delete-directory-note').count()).toBe(0);
    await del.getByRole('button', { name: 'Cancel' }).click();
    expect(errors).toEqual([]);
  });
});
