// A device the service no longer accepts (here: the service lost its data and
// does not know the device) stops syncing instead of looping, says so in
// status, and comes back only when re-enrolled with a new token.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startService, tempDir, waitFor } from '../helpers/processes.ts';
import { labOn, TestAgent, type Lab } from './helpers/agent.ts';
import { startProxy, type Proxy } from './helpers/proxy.ts';
import { join } from 'node:path';

// A service restart, agent CLI processes and doctor in one test: 24 s of 30 were seen on a loaded 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

let lab: Lab;
let proxy: Proxy;
let agent: TestAgent;

beforeAll(async () => {
  lab = await labOn(await startService());
  proxy = await startProxy(lab.svc.url);
  agent = new TestAgent('revoke');
  expect((await agent.enroll(proxy.url, await lab.enrollToken())).code).toBe(0);
  await lab.assign();
  await agent.start();
  await agent.waitMode('full');
});
afterAll(async () => {
  await agent?.stop();
  await proxy?.close();
  await lab?.svc.stop();
});

describe('revoked device', () => {
  it('stops syncing after a 401, records it and goes read-only', async () => {
    // The service comes back empty on the same port: this device is unknown to it.
    await lab.svc.stop();
    lab = await labOn(await startService({ dataDir: join(tempDir('svc2'), 'data'), port: lab.svc.port }));
    await agent.cli(['refresh']);
    await agent.waitMode('read-only', 'DEVICE_REVOKED', 10_000);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'DEVICE_REVOKED', enrolled: true, nextSync: null });
    expect(st.revoked).toMatchObject({ httpStatus: 401, code: 'UNAUTHENTICATED' });
    const before = proxy.entitlementRequests;
    await new Promise((r) => setTimeout(r, 3000));
    expect(proxy.entitlementRequests).toBe(before);
    const refresh = await agent.cli(['refresh', '--json']);
    expect(refresh.code).toBe(1);
    expect(JSON.parse(refresh.stdout).error).toMatch(/re-enroll/);
    expect(proxy.entitlementRequests).toBe(before);
    expect((await agent.logs(['--type', 'revoked'])).length).toBe(1);
    const doctor = await agent.cli(['doctor']);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/\[FAIL\] enrollment: the service no longer accepts this device/);
  });

  it('comes back when an admin re-enrolls it with a new token, while the daemon runs', async () => {
    const r = await agent.enroll(proxy.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ daemon: true, reenrolled: false });
    expect(out.previousDeviceId).not.toBe(out.deviceId);
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 20_000);
    await lab.assign();
    await agent.waitMode('full', 'ASSIGNED', 20_000);
    const st = await agent.status();
    expect(st).toMatchObject({ deviceId: out.deviceId, revoked: null, mode: 'full' });
    await waitFor('syncing again', () => proxy.entitlementRequests > 0, 1000);
  });
});
