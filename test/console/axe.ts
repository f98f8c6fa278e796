// axe-core in the console's browser tests. The console's CSP allows only our
// own scripts and enforces Trusted Types, so axe cannot come in through a
// <script> tag: its source is evaluated through the DevTools protocol
// (page.evaluate), which the page's CSP does not govern. Nothing in the
// console's own policy is loosened for it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation { id: string; impact: string | null; help: string; targets: string[] }

/** Runs axe-core (WCAG 2.x A/AA and best practices) on what the page shows now; returns its violations. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const r = await axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n: any) => String(n.target)) }));
  });
}
