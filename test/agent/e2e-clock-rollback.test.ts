// The offline clock-rollback attack, with a real service behind a proxy that
// goes down and a real `devlic-agent run`: offline, the clock is moved 91 days
// ahead (the cached token expires: TOKEN_EXPIRED), then back to the real time.
// The device must stay read-only (CLOCK_UNTRUSTED, logged) because its clock
// is now behind a time it has itself observed - also across an agent restart
// and a rebuilt database - until a successful sync re-anchors the clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { licensedProxiedAgent, type Lab, type ProxiedAgent, type TestAgent } from './helpers/agent.ts';
import type { Proxy } from './helpers/proxy.ts';
import { waitFor } from '../helpers/processes.ts';

let setup: ProxiedAgent;
let lab: Lab;
let proxy: Proxy;
let agent: TestAgent;

beforeAll(async () => {
  setup = await licensedProxiedAgent('rollback');
  ({ lab, proxy, agent } = setup);
}, 60_000);
afterAll(async () => { await setup?.stop(); });

/** Samples the applied mode until `until` resolves (or for `ms`); returns every distinct mode:reason seen. */
async function watchModes(ms: number, until?: Promise<unknown>): Promise<string[]> {
  const seen = new Set<string>();
  let done = false;
  until?.then(() => { done = true; }, () => { done = true; });
  const end = Date.now() + ms;
  while (until ? !done : Date.now() < end) {
    const m = agent.appMode();
    if (m) seen.add(`${m.mode}:${m.reason}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await until;
  return [...seen];
}

const lastEventId = async () => (await agent.logs()).at(-1)?.id ?? 0;
async function waitEvent(type: string, pred: (e: any) => boolean, after: number): Promise<any> {
  return waitFor(`event ${type}`, async () => (await agent.logs(['--type', type])).find((e) => e.id > after && pred(e)), 30_000, 250);
}

// Each step runs several CLI commands: generous budgets for a busy machine.
describe('offline clock rollback after expiry', { timeout: 90_000 }, () => {
  it('+91 days while offline: read-only TOKEN_EXPIRED', async () => {
    proxy.mode = { kind: 'down' };
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, mode: 'full', reason: 'ASSIGNED' });
    agent.setNow('+91d');
    await agent.waitMode('read-only', 'TOKEN_EXPIRED', 10_000);
  });

  it('clock put back to the real time: still read-only, CLOCK_UNTRUSTED, logged', async () => {
    const after = await lastEventId();
    agent.setNow('+0s');
    await agent.waitMode('read-only', 'CLOCK_UNTRUSTED', 10_000);
    // The expiry check runs every second: a flip to full would show here.
    expect(await watchModes(3000)).toEqual(['read-only:CLOCK_UNTRUSTED']);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
    expect(st.detail).toMatch(/behind the latest time this device observed/);
    expect(st.detail).toMatch(/TOKEN_EXPIRED/);
    expect(Date.parse(st.clock.observedHighWater) - Date.now()).toBeGreaterThan(90 * 86_400_000);
    const human = await agent.cli(['status']);
    expect(human.stdout).toMatch(/connect to the network/);
    await waitEvent('clock-jump', (e) => e.reason === 'BACK', after);
    await waitEvent('clock-back', (e) => e.reason === 'CLOCK_UNTRUSTED', after);
    await waitEvent('mode-change', (e) => e.reason === 'CLOCK_UNTRUSTED', after);
    expect(agent.output).toMatch(/behind the latest time this device observed/);
    const doctor = await agent.cli(['doctor', '--json']);
    const clock = JSON.parse(doctor.stdout).checks.find((c: any) => c.name === 'clock');
    expect(clock).toMatchObject({ status: 'fail' });
    expect(clock.message).toMatch(/behind the latest time this device observed/);
  });

  it('an agent restarted while the clock is rolled back stays CLOCK_UNTRUSTED (never full)', async () => {
    const after = await lastEventId();
    expect(await agent.stop()).toBe(0);
    const seen = watchModes(0, agent.start().then(() => agent.waitMode('read-only', 'CLOCK_UNTRUSTED', 10_000)));
    expect(await seen).toEqual(['read-only:CLOCK_UNTRUSTED']);
    // Logged again at the start, although the applied mode did not change.
    await waitEvent('clock-back', (e) => e.fields.cause === 'start', after);
    expect(await watchModes(2500)).toEqual(['read-only:CLOCK_UNTRUSTED']);
    expect(await agent.status()).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
  });

  it('service reachable again: the sync re-anchors the clock, full', async () => {
    const after = await lastEventId();
    proxy.mode = { kind: 'pass' };
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await agent.waitMode('full', 'ASSIGNED', 10_000);
    const anchored = await waitEvent('clock-back', (e) => e.fields.resolvedBy === 'sync', after);
    expect(anchored.fields.behindSeconds).toBeGreaterThan(90 * 86_400);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', detail: null });
    expect(Math.abs(Date.parse(st.clock.observedHighWater) - Date.now())).toBeLessThan(10 * 60_000);
    expect(await watchModes(2000)).toEqual(['full:ASSIGNED']);
  });

  it('a rebuilt database does not reopen it: no cached token, read-only until the service answers', async () => {
    proxy.mode = { kind: 'down' };
    expect((await agent.cli(['refresh', '--json'])).code).toBe(1);
    agent.setNow('+91d');
    await agent.waitMode('read-only', 'TOKEN_EXPIRED', 10_000);
    agent.setNow('+0s');
    await agent.waitMode('read-only', 'CLOCK_UNTRUSTED', 10_000);
    // The mark lives in agent.db with the cached token: losing one loses both.
    expect(await agent.stop()).toBe(0);
    for (const s of ['', '-wal', '-shm']) rmSync(join(agent.dataDir, `agent.db${s}`), { force: true });
    const seen = watchModes(0, agent.start().then(() => agent.waitMode('read-only', 'NO_ENTITLEMENT', 10_000)));
    expect((await seen).filter((m) => m.startsWith('full'))).toEqual([]);
    expect(await watchModes(2000)).toEqual(['read-only:NO_ENTITLEMENT']);
    proxy.mode = { kind: 'pass' };
    expect((await agent.cli(['refresh', '--json'])).code).toBe(0);
    await agent.waitMode('full', 'ASSIGNED', 10_000);
  });
});
