// The device clock moved by large amounts while the agent runs, with a real
// service behind a proxy that can go down. Online, a year forward or back
// changes nothing (requests re-stamped with the service's time after a 401,
// the decision on the service's time). Offline, +100 days expires the token,
// and coming back to the real time stays read-only (CLOCK_UNTRUSTED: the agent
// saw the later time; e2e-clock-rollback.test.ts has the whole attack), while
// trusted time is not poisoned by the jump. A sync made while the clock was a
// year ahead, then the clock put right while offline: CLOCK_UNTRUSTED until
// the next sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { licensedProxiedAgent, type Lab, type ProxiedAgent, type TestAgent } from './helpers/agent.ts';
import type { Proxy } from './helpers/proxy.ts';
import { waitFor } from '../helpers/processes.ts';

let setup: ProxiedAgent;
let lab: Lab;
let proxy: Proxy;
let agent: TestAgent;

beforeAll(async () => {
  setup = await licensedProxiedAgent('clock');
  ({ lab, proxy, agent } = setup);
}, 60_000);
afterAll(async () => { await setup?.stop(); });

/** Samples the applied mode for `ms`; returns every distinct mode:reason seen. */
async function watchModes(ms: number): Promise<string[]> {
  const seen = new Set<string>();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const m = agent.appMode();
    if (m) seen.add(`${m.mode}:${m.reason}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return [...seen];
}

const nearNow = (iso: string) => Math.abs(Date.parse(iso) - Date.now()) < 10 * 60_000;

async function waitEvent(type: string, pred: (e: any) => boolean, after: number): Promise<any> {
  return waitFor(`event ${type}`, async () => (await agent.logs(['--type', type])).find((e) => e.id > after && pred(e)), 30_000, 250);
}
const lastEventId = async () => (await agent.logs()).at(-1)?.id ?? 0;

describe('online', { timeout: 90_000 }, () => {
  it('a year forward: stays full, decides on the service time', async () => {
    const changes = (await agent.logs(['--type', 'mode-change'])).length;
    const after = await lastEventId();
    agent.setNow('+365d');
    // The expiry check runs every second: a flip would show within this window.
    expect(await watchModes(4000)).toEqual(['full:ASSIGNED']);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', revoked: null });
    expect(nearNow(st.clock.effectiveNow)).toBe(true);
    expect(Date.parse(st.clock.now) - Date.now()).toBeGreaterThan(364 * 86_400_000);
    expect(nearNow(st.clock.trustedHighWater)).toBe(true);
    const jump = await waitEvent('clock-jump', () => true, after);
    expect(jump.fields.jumpSeconds).toBeGreaterThan(364 * 86_400);
    expect((await agent.logs(['--type', 'mode-change'])).length).toBe(changes);
  });

  it('then two years back (a year behind): still full, logged, no flip', async () => {
    const changes = (await agent.logs(['--type', 'mode-change'])).length;
    const after = await lastEventId();
    agent.setNow('-365d');
    expect(await watchModes(4000)).toEqual(['full:ASSIGNED']);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', revoked: null });
    expect(nearNow(st.clock.effectiveNow)).toBe(true);
    const jump = await waitEvent('clock-jump', () => true, after);
    expect(jump.fields.jumpSeconds).toBeLessThan(-729 * 86_400);
    // The sync that followed saw a clock behind its last reading and re-anchored.
    await waitEvent('clock-back', (e) => e.fields.resolvedBy === 'sync', after);
    agent.setNow('+0s');
    expect(await watchModes(2500)).toEqual(['full:ASSIGNED']);
    expect((await agent.logs(['--type', 'mode-change'])).length).toBe(changes);
  });
});

describe('offline', () => {
  it('+100 days: read-only TOKEN_EXPIRED; back to the real time: read-only CLOCK_UNTRUSTED, trusted time unpoisoned', async () => {
    proxy.mode = { kind: 'down' };
    agent.setNow('+100d');
    await agent.waitMode('read-only', 'TOKEN_EXPIRED', 10_000);
    expect(await agent.status()).toMatchObject({ mode: 'read-only', reason: 'TOKEN_EXPIRED' });
    const after = await lastEventId();
    agent.setNow('+0s');
    await agent.waitMode('read-only', 'CLOCK_UNTRUSTED', 10_000);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
    expect(st.detail).toMatch(/behind the latest time this device observed/);
    // Nothing from the jump ahead became trusted time: only the observed mark holds it, until a sync.
    expect(nearNow(st.clock.trustedHighWater)).toBe(true);
    expect(st.lastSync.ok).toBe(false);
    await waitEvent('mode-change', (e) => e.reason === 'CLOCK_UNTRUSTED', after);
  });
});

describe('synced a year ahead, then put right while offline', { timeout: 90_000 }, () => {
  it('is CLOCK_UNTRUSTED until the next successful sync, then full', async () => {
    proxy.mode = { kind: 'pass' };
    agent.setNow('+365d');
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, mode: 'full', reason: 'ASSIGNED' });
    expect(await watchModes(1500)).toEqual(['full:ASSIGNED']);

    proxy.mode = { kind: 'down' };
    const after = await lastEventId();
    agent.setNow('+0s');
    await agent.waitMode('read-only', 'CLOCK_UNTRUSTED', 10_000);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
    expect(st.detail).toMatch(/behind its reading at the last sync/);
    await waitEvent('clock-back', (e) => e.reason === 'CLOCK_UNTRUSTED', after);
    await waitEvent('mode-change', (e) => e.reason === 'CLOCK_UNTRUSTED', after);
    // Still untrusted while the service stays away.
    expect(await watchModes(2000)).toEqual(['read-only:CLOCK_UNTRUSTED']);

    proxy.mode = { kind: 'pass' };
    const ok = await agent.cli(['refresh', '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    await agent.waitMode('full', 'ASSIGNED', 10_000);
    expect(await agent.status()).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
    await waitEvent('clock-back', (e) => e.fields.resolvedBy === 'sync', after);
  });
});
