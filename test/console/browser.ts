// Shared set-up for the console's browser tests: Debian's Chromium driven by
// playwright-core (no browser is ever downloaded). Without Chromium the tests
// skip loudly; with DEVLIC_REQUIRE_REAL_APPS=1 (CI) they fail instead.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { ROOT } from '../helpers/processes.ts';

export const CHROMIUM = process.env.DEVLIC_CHROMIUM ?? '/usr/bin/chromium';
export const required = process.env.DEVLIC_REQUIRE_REAL_APPS === '1';
export const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (Debian: apt-get install --no-install-recommends chromium fonts-liberation)`;

/**
 * For `describe.skipIf(...)` at a browser test file's top: true when the
 * suite cannot run, because Chromium (or `alsoMissing`, e.g. slapd's absence)
 * is missing. Without DEVLIC_REQUIRE_REAL_APPS it says so loudly; with it (CI)
 * it adds a test that fails with what is missing.
 */
export function skipWithoutChromium(what: string, alsoMissing?: string): boolean {
  const absent = missing ?? alsoMissing;
  if (!absent) return false;
  if (required) it(`has what ${what} need (DEVLIC_REQUIRE_REAL_APPS=1)`, () => { throw new Error(absent); });
  else console.warn(`\n!!!!!!!! SKIPPING ${what}: ${absent}.\n!!!!!!!! Set DEVLIC_REQUIRE_REAL_APPS=1 to make this a failure.\n`);
  return true;
}

export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Fails the test on any error the page logs or throws (CSP violations are console errors too). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

export interface ConsoleOptions {
  /** Browser context options over the default 1280x860 viewport. */
  context?: BrowserContextOptions;
  /** Whose token signs in (default: the service's global admin). */
  token?: string;
  /** The page's default timeout (default 8 s). */
  timeoutMs?: number;
  /** Runs on the context before the page opens: permissions, bindings, init scripts. */
  prepare?: (context: BrowserContext) => Promise<unknown>;
}

/** A signed-in console page in a fresh browser context, its errors watched. */
export async function openConsole(browser: Browser, svc: { url: string; adminToken: string }, opts: ConsoleOptions = {}):
  Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...opts.context });
  await opts.prepare?.(context);
  const page = await context.newPage();
  page.setDefaultTimeout(opts.timeoutMs ?? 8_000);
  const errors = watchErrors(page);
  await signIn(page, svc.url, opts.token ?? svc.adminToken);
  return { context, page, errors };
}
