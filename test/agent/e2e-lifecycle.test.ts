// End to end with the real service and real agent processes: enroll, assign
// -> full within 2 s, sign-in, unassign -> read-only within 2 s, status
// reports reaching the service, refresh while the daemon runs, logs, doctor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';
import { waitFor } from '../helpers/processes.ts';

let lab: Lab;
let agent: TestAgent;

beforeAll(async () => {
  lab = await startLab();
  agent = new TestAgent('life');
});
afterAll(async () => {
  await agent?.stop();
  await lab?.svc.stop();
});

describe('agent lifecycle', () => {
  it('refuses a bad enroll token with exit 1 and writes nothing', async () => {
    const r = await agent.enroll(lab.svc.url, 'dle_not-a-real-token-at-all');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused the enroll token/);
    expect(r.stderr).toMatch(/ask an administrator/);
    // status exits 1 while the device is not enrolled (e2e-first-hour has the hint).
    const st = await agent.cli(['status', '--json']);
    expect(st.code).toBe(1);
    expect(JSON.parse(st.stdout)).toMatchObject({ enrolled: false, reason: 'NOT_ENROLLED' });
  });

  it('refuses plain http to a non-loopback server as a usage error', async () => {
    const r = await agent.enroll('http://192.0.2.10:8470', 'x'.repeat(20));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing plain http/);
  });

  it('enrolls: private files, pinned keys, device id, read-only before assignment', async () => {
    const r = await agent.enroll(lab.svc.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.deviceId).toMatch(/^dev_/);
    expect(out.mode).toBe('read-only');
    expect(statSync(agent.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(agent.dataDir, 'device-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(agent.dataDir, 'identity.json')).mode & 0o777).toBe(0o600);
    const identity = JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8'));
    const jwks = await (await fetch(`${lab.svc.url}/.well-known/jwks.json`)).json() as { keys: { kid: string }[] };
    expect(identity.keys.keys.map((k: { kid: string }) => k.kid)).toEqual(jwks.keys.map((k) => k.kid));
    expect(identity.deviceId).toBe(out.deviceId);
    const st = await agent.status();
    expect(st).toMatchObject({ deviceId: out.deviceId, enrolled: true, server: lab.svc.url, mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(st.entitlement.status).toBe('unlicensed');
    expect(st.lastSync.ok).toBe(true);
  });

  it('re-enrolling with the device key (a proof) keeps the device id', async () => {
    const before = (await agent.status()).deviceId;
    const r = await agent.enroll(lab.svc.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ deviceId: before, reenrolled: true });
  });

  it('goes full within 2 s of an assignment', async () => {
    await agent.start();
    await agent.waitMode('read-only');
    await lab.assign();
    const ms = await agent.waitMode('full', 'ASSIGNED', 20_000);
    expect(ms).toBeLessThan(2000);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', daemon: { running: true } });
    expect(st.entitlement).toMatchObject({ status: 'licensed', product: 'M365_APPS_ENTERPRISE_DEVICE', subscription: lab.subscription, group: lab.group });
    const exp = Date.parse(st.entitlement.expiresAt);
    expect(exp - Date.now()).toBeGreaterThan(89 * 86_400_000);
    expect(Date.parse(st.entitlement.warnAt)).toBe(exp - 10 * 86_400_000);
    expect(st.enforcers).toEqual([expect.objectContaining({ name: 'file', ok: true, mode: 'full' })]);
    expect(st.nextSync).not.toBeNull();
  });

  it('applies the mode for someone who signs in, within a second, and records the session', async () => {
    const t0 = Date.now();
    agent.signedIn([{ user: 'alice', line: 'tty2' }]);
    await waitFor('alice in app-mode', () => agent.appMode()?.users.includes('alice'), 20_000, 10);
    expect(Date.now() - t0).toBeLessThan(1000);
    const st = await agent.status();
    expect(st.users).toEqual([expect.objectContaining({ name: 'alice', line: 'tty2', mode: 'full' })]);
    // The status report right after the change reaches the service.
    const dev = await waitFor('report at the service', async () => {
      const d = await lab.admin.ok('GET', `/devices/${st.deviceId}`);
      return d.users.some((u: { name: string }) => u.name === 'alice') ? d : null;
    }, 20_000, 50);
    expect(dev).toMatchObject({ lastMode: 'full', lastReason: 'ASSIGNED', agentVersion: '0.1.0' });
  });

  it('goes read-only within 2 s of an unassignment, for the signed-in user too', async () => {
    await lab.unassign();
    const ms = await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 20_000);
    expect(ms).toBeLessThan(2000);
    expect(agent.appMode()!.users).toEqual(['alice']);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(st.users[0]).toMatchObject({ name: 'alice', mode: 'read-only' });
  });

  it('records sign-out', async () => {
    agent.signedIn([]);
    await waitFor('nobody in app-mode', () => agent.appMode()?.users.length === 0, 20_000, 10);
    expect((await agent.status()).users).toEqual([]);
  });

  it('refresh works while the daemon runs (through it) and reports the mode', async () => {
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, via: 'agent', mode: 'read-only' });
  });

  it('logs every sync, mode change and sign-in, filterable by time', async () => {
    const events = await agent.logs();
    const types = events.map((e) => e.type);
    for (const t of ['enroll', 'agent-start', 'sync', 'mode-change', 'sign-in', 'sign-out']) expect(types).toContain(t);
    const changes = events.filter((e) => e.type === 'mode-change').map((e) => `${e.fields.to}:${e.reason}`);
    expect(changes).toEqual(expect.arrayContaining(['full:ASSIGNED', 'read-only:NOT_IN_LICENSED_GROUP']));
    agent.setNow('+2h');
    // The running daemon logs the jump itself (clock-jump, then a sync); none of the earlier events show.
    expect((await agent.logs(['--since', '1h'])).filter((e) => e.id <= events.at(-1).id)).toEqual([]);
    agent.setNow('+0s');
    const text = await agent.cli(['logs', '--since', '1h']);
    expect(text.stdout).toMatch(/mode-change\s+ASSIGNED/);
  });

  it('doctor passes, and fails with exit 1 when the key file is readable by others', async () => {
    const ok = await agent.cli(['doctor']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/\[ ok \] database: integrity check passed/);
    const key = join(agent.dataDir, 'device-key.pem');
    chmodSync(key, 0o644);
    const bad = await agent.cli(['doctor', '--json']);
    chmodSync(key, 0o600);
    expect(bad.code).toBe(1);
    const checks = JSON.parse(bad.stdout).checks;
    expect(checks.find((c: { name: string }) => c.name === 'device-key')).toMatchObject({ status: 'fail' });
  });

  it('refuses a second daemon on the same data dir', async () => {
    const r = await agent.cli(['run'], 20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already running/);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await agent.stop()).toBe(0);
    expect(agent.output).toMatch(/"msg":"agent stopped"/);
    const st = await agent.status();
    expect(st.daemon.running).toBe(false);
    expect(st.mode).toBe('read-only');
  });
});
