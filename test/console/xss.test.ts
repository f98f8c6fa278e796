// Stored XSS against the admin console, in a real browser: a device enrolled
// through the real device API whose hostname, facts, status report (signed-in
// user names, lastError, agentVersion, reason) carry markup and `javascript:`
// URLs, plus an admin-named group, subscription and admin made of markup. A
// global-admin then opens every page that shows them in Debian's Chromium.
// Every payload calls `__pwned(where)`, a binding into this test, so "it never
// fired" is observed rather than inferred. Also checked: each payload shows as
// literal text, no element or link came out of it, the page runs with Trusted
// Types enforced (HTML/script sinks refuse strings, no policy can be made),
// the console's one DOM builder refuses script-bearing attributes, the API's
// own answers opened in the browser carry a locked-down policy too, and normal
// use raises no Content-Security-Policy violation at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { launch, skipWithoutChromium, screenshot, watchErrors } from './browser.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
const p = (where: string) => `__pwned('${where}')`;
// Device-supplied (none has a control character, so input validation lets them through).
const HOST = `"><svg onload=${p('hostname')}>`;
const HOST_JS = `javascript:${p('hostname-url')}//`;
const FACTS = {
  manufacturer: `<img src=x onerror=${p('manufacturer')}>`,
  model: `</dd><script>${p('model')}</script>`,
  serial: `' onmouseover='${p('serial')}' x='`,
  os: `<iframe srcdoc="<script>parent.${p('os')}</script>"></iframe>`,
};
const USERS = [
  `<img src=x onerror=${p('user-img')}>`,
  `<script>${p('user-script')}</script>`,
  `javascript:${p('user-url')}`,
  `"><svg onload=${p('user-svg')}>`,
];
const LAST_ERROR = `<img src=x onerror=${p('lastError')}><a href="javascript:${p('lastError-link')}">retry</a><script>${p('lastError-script')}</script>`;
const AGENT_VERSION = `<svg/onload=${p('agentVersion')}>`;
const REASON = `<img src=x onerror=${p('reason')}>`;
// Admin-supplied, shown to every other admin.
const GROUP = `<img src=x onerror=${p('group')}>`;
const SUB = `<svg><script>${p('subscription')}</script></svg>`;
const ADMIN = `<img src=x onerror=${p('admin-name')}>`;
const ALL = [HOST, HOST_JS, ...Object.values(FACTS), ...USERS, LAST_ERROR, AGENT_VERSION, REASON, GROUP, SUB, ADMIN];

const run = describe.skipIf(skipWithoutChromium('the console XSS tests'));

interface Violation { directive: string; blocked: string; sample: string; url: string }

run('console XSS payloads stay inert in Chromium with Trusted Types', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let hostile: SimDevice;
  let hostileJs: SimDevice;
  let groupId = '';
  let token = '';
  const fired: string[] = [];
  const probeViolations: Violation[] = [];
  const violations: Violation[] = []; // on the signed-in page `page` only: the probe pages provoke refusals on purpose

  beforeAll(async () => {
    [svc, browser] = await Promise.all([startService(), launch()]);
    admin = adminClient(svc.url, svc.adminToken);
    const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 5, name: SUB });
    groupId = (await admin.ok('POST', '/groups', { name: GROUP })).id;
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: groupId });
    token = (await admin.ok('POST', '/admins', { role: 'global-admin', name: ADMIN })).token;
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 2, group: groupId });
    hostile = new SimDevice(svc.url, fakeFacts(HOST, FACTS));
    hostileJs = new SimDevice(svc.url, fakeFacts(HOST_JS));
    expect((await hostile.enroll(t.token)).status).toBe(201);
    expect((await hostileJs.enroll(t.token)).status).toBe(201);
    // The agent's status report, with markup wherever it carries free text.
    for (const d of [hostile, hostileJs]) {
      const e = await d.entitlement();
      expect(e.status).toBe(200);
      const c = claimsOf(e.body.token);
      expect(c.status).toBe('licensed');
      expect(await d.report({
        mode: 'full', reason: REASON, users: USERS.map((name) => ({ name, mode: 'full' })), agentVersion: AGENT_VERSION,
        lastError: LAST_ERROR, cacheExpiresAt: new Date(c.exp * 1000).toISOString(), entitlementSeq: c.seq,
      })).toBe(204);
    }

    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // A payload that runs calls this; so would one running in any frame of the page.
    await context.exposeBinding('__pwned', (_src, where: string) => { fired.push(String(where)); });
    await context.exposeBinding('__cspViolation', (src, v: Violation) => { if (src.page === page) violations.push(v); else probeViolations.push(v); });
    await context.addInitScript(() => {
      (globalThis as any).document.addEventListener('securitypolicyviolation', (e: any) => {
        (globalThis as any).__cspViolation({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample, url: e.documentURI });
      });
    });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    errors = watchErrors(page);
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
  });

  /** The console main area: payloads as literal text, and nothing a payload could have made. */
  async function assertInert(where: string, expected: string[]) {
    const main = page.locator('main#main');
    const text = (await main.textContent()) ?? '';
    for (const s of expected) expect(text, `${where}: shows ${s} literally`).toContain(s);
    expect(await main.locator('img, svg, script, iframe, object, embed').count(), `${where}: elements from payloads`).toBe(0);
    const hrefs = await main.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    expect(hrefs.length).toBeGreaterThan(0);
    for (const h of hrefs) expect(h, `${where}: link target`).toMatch(/^#\//);
    // Nothing carries an inline event handler (a payload attribute that escaped into markup would).
    const handlers = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('*')]
      .flatMap((el: any) => [...el.attributes].filter((a: any) => /^on/i.test(a.name)).map((a: any) => `${el.tagName} ${a.name}`)));
    expect(handlers, `${where}: inline handlers`).toEqual([]);
    expect(fired, `${where}: payloads that ran`).toEqual([]);
  }

  it('signs in as a global-admin whose own name is markup', async () => {
    const r = await page.goto(svc.url);
    const csp = r!.headers()['content-security-policy'];
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).toContain("trusted-types 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    // Inline script and string eval stay forbidden (eval cannot be probed from page.evaluate, which DevTools runs unchecked).
    expect(csp).not.toMatch(/unsafe-|data:|\*/);
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    expect(await page.locator('#who strong').textContent()).toBe(ADMIN);
    expect(await page.locator('header img').count()).toBe(0);
  });

  it('the devices list shows hostnames, users and versions as text', async () => {
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    const row = page.locator(`tr[data-device-id="${hostile.deviceId}"]`);
    await row.waitFor();
    expect(await row.locator('th a').textContent()).toBe(HOST);
    expect(await page.locator(`tr[data-device-id="${hostileJs.deviceId}"] th a`).textContent()).toBe(HOST_JS);
    await screenshot(page, 'xss-fleet');
    await assertInert('devices list', [HOST, HOST_JS, GROUP, SUB, AGENT_VERSION, ...USERS.map((u) => `${u} (full)`)]);
  });

  it('the device page shows facts, lastError, reason and users as text', async () => {
    await page.getByRole('link', { name: HOST_JS, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: HOST_JS }).waitFor();
    await assertInert('device page (javascript: hostname)', [HOST_JS, LAST_ERROR, REASON, AGENT_VERSION, ...USERS]);
    await page.goto(`${svc.url}/#/devices/${hostile.deviceId}`);
    await page.getByRole('heading', { level: 1, name: HOST }).waitFor();
    await page.getByRole('table', { name: 'Recent reports' }).waitFor();
    await screenshot(page, 'xss-device');
    await assertInert('device page', [HOST, `${FACTS.manufacturer} ${FACTS.model}`, FACTS.serial, FACTS.os, LAST_ERROR, REASON, AGENT_VERSION, GROUP, SUB, ...USERS]);
    const lastError = page.locator('dt', { hasText: 'Last error' }).locator('xpath=following-sibling::dd[1]');
    expect(await lastError.textContent()).toBe(LAST_ERROR);
  });

  it('the group, licences and audit pages show admin- and device-supplied names as text', async () => {
    await page.goto(`${svc.url}/#/groups/${groupId}`);
    await page.getByRole('heading', { level: 1, name: GROUP }).waitFor();
    await page.locator(`tr[data-device-id="${hostile.deviceId}"]`).waitFor();
    await assertInert('group page', [GROUP, SUB, HOST, HOST_JS]);
    await page.goto(`${svc.url}/#/groups`);
    await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
    await page.getByRole('link', { name: GROUP }).waitFor();
    await assertInert('groups list', [GROUP, SUB]);
    await page.goto(`${svc.url}/#/licences/${SKU}`);
    await page.getByRole('link', { name: SUB }).click();
    await page.getByRole('heading', { level: 1, name: SUB }).waitFor();
    await page.getByRole('link', { name: GROUP }).waitFor();
    await assertInert('subscription page', [SUB, GROUP]);
    await page.goto(`${svc.url}/#/audit`);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByRole('cell', { name: 'Device enrolled' }).first().waitFor();
    await assertInert('audit log', [HOST, HOST_JS, GROUP]);
  });

  it('runs with Trusted Types enforced: HTML and script sinks refuse strings, no policy can be made', async () => {
    // A page of its own, so the refusals provoked here stay out of the normal-use record below.
    const probe = await context.newPage();
    await probe.goto(svc.url);
    await probe.getByLabel('Admin token').waitFor(); // the console's own script has run (a new tab starts signed out)
    const results = await probe.evaluate(() => {
      const document = (globalThis as any).document;
      const attempt = (f: () => void) => { try { f(); return 'allowed'; } catch (e) { return `${(e as Error).name}: ${(e as Error).message}`; } };
      const div = document.createElement('div');
      document.body.append(div);
      return {
        innerHTML: attempt(() => { div.innerHTML = '<b>x</b>'; }),
        outerHTML: attempt(() => { div.outerHTML = '<b>x</b>'; }),
        insertAdjacentHTML: attempt(() => { document.body.insertAdjacentHTML('beforeend', '<b>x</b>'); }),
        documentWrite: attempt(() => { document.write('<b>x</b>'); }),
        createContextualFragment: attempt(() => { document.createRange().createContextualFragment('<b>x</b>'); }),
        scriptSrc: attempt(() => { const s = document.createElement('script'); s.src = '/console/js/app.js'; }),
        scriptText: attempt(() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }),
        createPolicy: attempt(() => { (globalThis as any).trustedTypes.createPolicy('anything', { createHTML: (s: string) => s }); }),
      };
    });
    for (const k of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'documentWrite', 'createContextualFragment']) {
      expect(results[k as keyof typeof results], k).toMatch(/^TypeError: .*TrustedHTML/);
    }
    expect(results.scriptSrc).toMatch(/^TypeError: .*TrustedScriptURL/);
    expect(results.scriptText).toMatch(/^TypeError: .*TrustedScript/);
    expect(results.createPolicy).toMatch(/^TypeError: .*[Pp]olicy/);
    expect(await probe.locator('b').count()).toBe(0);
    await probe.close();
  });

  it("the console's DOM builder refuses script-bearing attributes and URLs", async () => {
    const probe = await context.newPage();
    await probe.goto(svc.url);
    // As a string: the test runner would rewrite a dynamic import() written in a function.
    const results: Record<string, string> = await probe.evaluate(`(async () => {
      const { h } = await import('/console/js/dom.js');
      const attempt = (f) => { try { return 'made ' + f().outerHTML; } catch (e) { return e.name + ': ' + e.message; } };
      return {
        javascriptHref: attempt(() => h('a', { href: ' JavaScript:alert(1)' }, 'x')),
        dataHref: attempt(() => h('a', { href: 'data:text/html,<script>1</script>' }, 'x')),
        otherSite: attempt(() => h('a', { href: '//evil.example/' }, 'x')),
        src: attempt(() => h('img', { src: 'https://evil.example/x.png' })),
        inlineHandler: attempt(() => h('div', { onclick: 'alert(1)' })),
        style: attempt(() => h('div', { style: 'background:url(//evil.example/)' })),
        srcdoc: attempt(() => h('iframe', { srcdoc: '<script>1</script>' })),
        scriptTag: attempt(() => h('script', {}, 'alert(1)')),
        ownLink: attempt(() => h('a', { href: '#/devices/dev_1' }, 'ok')),
        ownPath: attempt(() => h('a', { href: '/console/favicon.svg' }, 'ok')),
      };
    })()`);
    for (const k of ['javascriptHref', 'dataHref', 'otherSite', 'src', 'inlineHandler', 'style', 'srcdoc', 'scriptTag'] as const) {
      expect(results[k], k).toMatch(/^TypeError: /);
    }
    expect(results.ownLink).toBe('made <a href="#/devices/dev_1">ok</a>');
    expect(results.ownPath).toBe('made <a href="/console/favicon.svg">ok</a>');
    await probe.close();
  });

  it("the API's own answers, opened in the browser, are locked down too", async () => {
    const probe = await context.newPage();
    probeViolations.length = 0;
    // The 404 text repeats the path: markup in a URL comes back in the JSON.
    for (const path of [`/v1/admin/${encodeURIComponent(USERS[0])}`, `/${encodeURIComponent(HOST)}`, '/v1/admin/devices', '/healthz', '/openapi.json']) {
      const r = await probe.goto(`${svc.url}${path}`);
      expect(r, path).not.toBeNull();
      const hdr = r!.headers();
      expect(hdr['content-type'], path).toMatch(/^application\/json/);
      expect(hdr['content-security-policy'], path).toMatch(/default-src 'none'/);
      expect(hdr['content-security-policy'], path).toMatch(/frame-ancestors 'none'/);
      expect(hdr['x-content-type-options'], path).toBe('nosniff');
      expect(hdr['referrer-policy'], path).toBe('no-referrer');
      expect(await probe.locator('img, svg, script').count(), path).toBe(0);
    }
    expect(fired).toEqual([]);
    expect(probeViolations).toEqual([]);
    await probe.close();
  });

  it('raised no CSP violation, page error or console error during normal use, and nothing fired', async () => {
    // Give a late payload (an image error, a deferred handler) every chance to run before concluding.
    await page.goto(`${svc.url}/#/devices/${hostile.deviceId}`);
    await page.getByRole('heading', { level: 1, name: HOST }).waitFor();
    await waitFor('the page to settle', () => page.evaluate(() => (globalThis as any).document.readyState === 'complete'));
    expect(fired).toEqual([]);
    expect(violations.filter((v) => v.url.startsWith(svc.url))).toEqual([]);
    expect(errors).toEqual([]);
  });
});
