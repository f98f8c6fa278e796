// Rule groups follow the device lifecycle, through a real devlic-server (both
// backends): a retired device leaves its rule groups (its seat passes on;
// hand-made memberships stay), a restored one is matched again and joins as
// the newest member, a merge re-evaluates the surviving id with the facts it
// takes, and a deleted device is gone from every group. Stale retirement is
// in lifecycle-api.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
let svc: ServiceProcess;
let admin: AdminClient;
const dev: Record<string, SimDevice> = {};

async function enroll(name: string, facts: Partial<ReturnType<typeof fakeFacts>> = {}): Promise<SimDevice> {
  const t = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
  const d = new SimDevice(svc.url, fakeFacts(name, facts));
  expect((await d.enroll(t.token)).status).toBe(201);
  dev[name] = d;
  return d;
}

async function claims(name: string): Promise<{ status: string; reason: string }> {
  const r = await dev[name]!.entitlement();
  expect(r.status).toBe(200);
  return claimsOf(r.body.token);
}

async function members(group: string): Promise<string[]> {
  return (await admin.ok('GET', `/groups/${encodeURIComponent(group)}`)).members.map((m: any) => `${m.name}:${m.why}`);
}

async function lastAudit(action: string): Promise<any> {
  return (await admin.ok('GET', `/audit?action=${encodeURIComponent(action)}&limit=1`)).items[0];
}

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
  await enroll('lab-1');
  await enroll('lab-2');
  await admin.ok('POST', '/groups', { name: 'Lab', rule: 'hostname like "lab-*"' });
  await admin.ok('POST', '/groups', { name: 'Hand' });
  await admin.ok('POST', '/groups/Hand/devices', { devices: ['lab-1'] });
  // One seat: lab-1, the earliest member, holds it.
  const sub = await admin.ok('POST', '/subscriptions', { product: SKU, seats: 1, name: 'Lab seat' });
  await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'Lab' });
});
afterAll(async () => { await svc?.stop(); });

describe('rule groups and the device lifecycle', () => {
  it('starts with both lab devices as rule members, lab-1 holding the one seat', async () => {
    expect(await members('Lab')).toEqual(['lab-1:rule', 'lab-2:rule']);
    expect((await claims('lab-1')).status).toBe('licensed');
    expect(await claims('lab-2')).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' });
  });

  it('retire: the device leaves its rule groups in the same change, the seat passes on, its hand-made group keeps it', async () => {
    await admin.ok('POST', `/devices/${dev['lab-1']!.deviceId}/retire`, { confirm: true });
    expect(await members('Lab')).toEqual(['lab-2:rule']);
    expect(await members('Hand')).toEqual(['lab-1:manual']);
    expect(await claims('lab-1')).toMatchObject({ status: 'unlicensed', reason: 'DEVICE_RETIRED' });
    expect((await claims('lab-2')).status).toBe('licensed');
    expect((await lastAudit('device.retire')).details).toMatchObject({ reason: 'admin', ruleGroupsLeft: 1 });
    expect((await admin.ok('GET', '/devices/lab-1')).groups.map((g: any) => g.name)).toEqual(['Hand']);
  });

  it('restore: the device is matched again and joins as the newest member (the seat stays where it went)', async () => {
    // Joining last takes no seat from lab-2, so the guard (which asks only when seats move) lets it through unconfirmed.
    await admin.ok('POST', `/devices/${dev['lab-1']!.deviceId}/restore`, {});
    expect(await members('Lab')).toEqual(['lab-2:rule', 'lab-1:rule']);
    expect(await claims('lab-1')).toMatchObject({ status: 'unlicensed', reason: 'SEATS_EXHAUSTED' });
    expect((await claims('lab-2')).status).toBe('licensed');
    expect((await lastAudit('device.restore')).details).toMatchObject({ ruleGroupsJoined: 1 });
  });

  it('merge: the surviving id takes the new record\'s facts and the rules are evaluated on them', async () => {
    const old = await enroll('old-pc');
    expect(await members('Lab')).not.toContain('old-pc:rule');
    // The machine came back under a lab name and enrolled as a new record; merged into its old id.
    const again = await enroll('lab-9', { machineIdHash: old.facts.machineIdHash, hardwareUuid: old.facts.hardwareUuid });
    expect(await members('Lab')).toContain('lab-9:rule');
    await admin.ok('POST', `/devices/${old.deviceId}/merge`, { from: again.deviceId });
    const lab = (await admin.ok('GET', '/groups/Lab')).members;
    expect(lab.map((m: any) => [m.id, m.name, m.why])).toContainEqual([old.deviceId, 'lab-9', 'rule']);
    expect(lab.map((m: any) => m.id)).not.toContain(again.deviceId);
  });

  it('delete: a retired, deleted device is in no group', async () => {
    await admin.ok('POST', `/devices/${dev['lab-2']!.deviceId}/retire`, { confirm: true });
    await admin.ok('DELETE', `/devices/${dev['lab-2']!.deviceId}`);
    expect(await members('Lab')).not.toContain('lab-2:rule');
    expect((await claims('lab-1')).status).toBe('licensed');
  });
});
