// The OS version end to end: a real devlic-agent reports the version its
// (fake) platform gives in its status report, the service stores it, and a
// rule group on `osVersion` takes the device in with its seat, so the agent
// goes full. The enroll token has no group: only the rule places the device.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { PRODUCT, TestAgent } from './helpers/agent.ts';

let svc: ServiceProcess;
let admin: AdminClient;
let agent: TestAgent;

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  agent = new TestAgent('osver-1');
  const identity = JSON.parse(readFileSync(agent.identityFile, 'utf8'));
  writeFileSync(agent.identityFile, JSON.stringify({ ...identity, osVersion: '10.0.26100' }));
});
afterAll(async () => {
  await agent?.stop();
  await svc?.stop();
});

describe('osVersion reported by a real agent', () => {
  it('lands in the device record and a rule group on it licenses the device', async () => {
    await admin.ok('POST', '/groups', { name: 'Win11-24H2', rule: 'osVersion == "10.0.26100"' });
    const sub = await admin.ok('POST', '/subscriptions', { product: PRODUCT, seats: 1, name: 'os-version seats' });
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Win11-24H2' });
    const token = (await admin.ok('POST', '/enroll-tokens', { uses: 1 })).token;
    const r = await agent.enroll(svc.url, token);
    expect(r.code, r.stderr).toBe(0);
    await agent.start();
    await agent.waitMode('full', 'ASSIGNED', 30_000);
    const id = (await agent.status()).deviceId;
    const d = await waitFor('the OS version stored', async () => {
      const v = await admin.ok('GET', `/devices/${id}`);
      return v.osVersion ? v : null;
    });
    expect(d.osVersion).toBe('10.0.26100');
    expect(d.groups.map((g: any) => g.name)).toEqual(['Win11-24H2']);
  });
});
