// Offline behaviour with the real service stopped and the agent's clock moved
// through its test hook (no sleeping for days): full until exp with a warning
// from warnAt, read-only at exp, a clock turned back detected and treated as
// untrusted until the next successful sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, waitFor } from '../helpers/processes.ts';
import { labOn, TestAgent, type Lab } from './helpers/agent.ts';

const DAY = 86_400_000;
let lab: Lab;
let agent: TestAgent;
let expiresAt = 0;
let warnAt = 0;

beforeAll(async () => {
  lab = await labOn(await startService());
  agent = new TestAgent('offline');
  const r = await agent.enroll(lab.svc.url, await lab.enrollToken());
  expect(r.code, r.stderr).toBe(0);
  await lab.assign();
  await agent.start();
  await agent.waitMode('full', 'ASSIGNED');
  const st = await agent.status();
  expiresAt = Date.parse(st.entitlement.expiresAt);
  warnAt = Date.parse(st.entitlement.warnAt);
});
afterAll(async () => {
  await agent?.stop();
  await lab?.svc.stop();
});

/** An offset for the fake clock that puts the agent at absolute time `at`. */
const at = (ms: number) => `+${Math.round((ms - Date.now()) / 1000)}s`;

describe('offline', () => {
  it('stays full when the service goes away', async () => {
    await lab.svc.stop();
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, mode: 'full', reason: 'ASSIGNED' });
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', warning: null });
    expect(st.lastSync.ok).toBe(false);
    expect(st.lastSync.error).toMatch(/cannot reach/);
    expect(agent.appMode()!.mode).toBe('full');
  });

  it('is still full just before warnAt, without a warning', async () => {
    agent.setNow(at(warnAt - 3_600_000));
    await new Promise((r) => setTimeout(r, 1500));
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', warning: null });
    expect(agent.appMode()!.mode).toBe('full');
  });

  it('warns from warnAt and stays full', async () => {
    agent.setNow(at(warnAt + 3_600_000));
    const st = await agent.status();
    expect(st.mode).toBe('full');
    expect(st.warning).toMatchObject({ code: 'EXPIRES_SOON', expiresAt: new Date(expiresAt).toISOString() });
    expect(st.warning.message).toMatch(/expires in 10 days/);
    // The daemon's expiry check (every second in this test's config) logs the warning once.
    const events = await waitFor('warning event', async () => {
      const e = await agent.logs(['--type', 'warning']);
      return e.length ? e : null;
    }, 20_000, 200);
    expect(events).toEqual([expect.objectContaining({ reason: 'EXPIRES_SOON' })]);
    expect(agent.appMode()!.mode).toBe('full');
  });

  it('is full one minute before exp and read-only at exp', async () => {
    agent.setNow(at(expiresAt - 60_000));
    expect((await agent.status()).mode).toBe('full');
    agent.setNow(at(expiresAt + 1000));
    const ms = await agent.waitMode('read-only', 'TOKEN_EXPIRED', 20_000);
    expect(ms).toBeLessThan(3000);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'TOKEN_EXPIRED' });
    const types = (await agent.logs()).map((e) => `${e.type}:${e.reason}`);
    expect(types).toContain('warning:EXPIRES_SOON');
    expect(types).toContain('mode-change:TOKEN_EXPIRED');
  });

  it('detects a clock turned back behind the last sync and goes read-only', async () => {
    agent.setNow('-10d');
    await agent.waitMode('read-only', 'CLOCK_UNTRUSTED', 20_000);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
    expect(st.detail).toMatch(/behind/);
    const ev = (await agent.logs()).filter((e) => e.type === 'clock-back');
    expect(ev.length).toBeGreaterThanOrEqual(1);
  });

  it('trusts the clock again after the next successful sync, even if it stays wrong', async () => {
    lab.svc = await startService({ dataDir: lab.svc.dataDir, port: lab.svc.port });
    // The agent is backing off; an admin's refresh asks now.
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await agent.waitMode('full', 'ASSIGNED', 20_000);
    const st = await agent.status();
    // Its request tokens were stamped 10 days late; it corrected them from the
    // service's Date header instead of taking the 401 for a revocation.
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', revoked: null });
    // The device clock is still 10 days behind; the decision uses the service's time.
    expect(Math.abs(Date.parse(st.clock.effectiveNow) - Date.now())).toBeLessThan(10 * 60_000);
    expect(Date.now() - Date.parse(st.clock.now)).toBeGreaterThan(9 * DAY);
    const resolved = (await agent.logs()).filter((e) => e.type === 'clock-back' && e.fields.resolvedBy === 'sync');
    expect(resolved.length).toBe(1);
  });
});
