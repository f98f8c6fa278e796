// Re-enrollment with real agent processes and a real service: a running
// agent re-enrolls with a proof and keeps its id; an attacker's agent with
// the same hardware facts and an unlicensed group's token gets a new device
// while the victim stays full; a reinstalled machine (key lost) enrolls as a
// new device, and after `devlic-admin devices merge NEW OLD` (refused to a
// reader) its running agent moves to the old id by itself and goes full.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, waitFor } from '../helpers/processes.ts';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';

let lab: Lab;
let lobbyToken: string;
let readerToken: string;
const machineId = randomBytes(16).toString('hex');
const hardwareUuid = randomBytes(16).toString('hex');
let victim: TestAgent;
let attacker: TestAgent | null = null;
let reinstalled: TestAgent | null = null;

function admin(args: string[], token: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(ROOT, 'service/admin-cli/main.ts'), ...args], {
      env: { ...process.env, DEVLIC_SERVER: lab.svc.url, DEVLIC_ADMIN_TOKEN: token },
    });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const identityOf = (a: TestAgent) => JSON.parse(readFileSync(join(a.dataDir, 'identity.json'), 'utf8'));

beforeAll(async () => {
  lab = await startLab();
  await lab.assign();
  await lab.admin.ok('POST', '/groups', { name: 'Lobby' });
  lobbyToken = (await lab.admin.ok('POST', '/enroll-tokens', { uses: 10, group: 'Lobby' })).token;
  readerToken = (await lab.admin.ok('POST', '/admins', { role: 'reader' })).token;
  victim = new TestAgent('victim', { machineId, hardwareUuid });
  const r = await victim.enroll(lab.svc.url, await lab.enrollToken());
  expect(r.code, r.stderr).toBe(0);
  await victim.start();
  await victim.waitMode('full', 'ASSIGNED', 10_000);
});
afterAll(async () => {
  await victim?.stop();
  await attacker?.stop();
  await reinstalled?.stop();
  await lab?.svc.stop();
});

describe('re-enrollment with real agents', () => {
  it('a running agent re-enrolls with its key as proof and keeps its id, groups and seat', async () => {
    const before = identityOf(victim).deviceId;
    const r = await victim.enroll(lab.svc.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ deviceId: before, reenrolled: true, duplicateOf: null, proofRefused: null, daemon: true });
    await victim.waitMode('full', 'ASSIGNED', 10_000);
    expect((await victim.status()).deviceId).toBe(before);
  }, 90_000);

  it('an attacker agent with the victim\'s hardware facts and an unlicensed group\'s token gets a new, read-only device; the victim stays full', async () => {
    const victimId = identityOf(victim).deviceId;
    const seats = (await lab.admin.ok('GET', `/subscriptions/${lab.subscription}`)).seatsUsed;
    attacker = new TestAgent('attacker', { machineId, hardwareUuid });
    const r = await attacker.enroll(lab.svc.url, lobbyToken);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ reenrolled: false, duplicateOf: victimId, mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(out.deviceId).not.toBe(victimId);
    expect(identityOf(attacker).facts.machineIdHash).toBe(identityOf(victim).facts.machineIdHash);

    // The victim still syncs with its own key and is still full, in its own groups only, on the same seat.
    const refresh = await victim.cli(['refresh', '--json']);
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(JSON.parse(refresh.stdout)).toMatchObject({ ok: true, mode: 'full', reason: 'ASSIGNED' });
    expect((await victim.status()).revoked).toBeNull();
    const v = await lab.admin.ok('GET', `/devices/${victimId}`);
    expect(v.groups.map((g: any) => g.id)).toEqual([lab.group]);
    expect((await lab.admin.ok('GET', `/subscriptions/${lab.subscription}`)).seatsUsed).toBe(seats);
  }, 90_000);

  it('a reinstalled machine enrolls as a new device; after an admin merge its running agent takes the old id and goes full', async () => {
    const oldId = identityOf(victim).deviceId;
    await victim.stop();
    // The reinstall: the same hardware, an empty data folder (no key, no identity).
    reinstalled = new TestAgent('reinstalled', { machineId, hardwareUuid });
    const r = await reinstalled.enroll(lab.svc.url, lobbyToken);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ reenrolled: false, duplicateOf: oldId, previousDeviceId: null });
    const newId = out.deviceId;
    await reinstalled.start();
    await reinstalled.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 10_000);

    const human = await admin(['devices', 'show', newId], svc().adminToken);
    expect(human.out).toMatch(new RegExp(`Possible duplicate of:.*${oldId}.*devices merge ${newId} ${oldId}`));

    const denied = await admin(['devices', 'merge', newId, oldId], readerToken);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/403|global-admin/);
    expect(identityOf(reinstalled).deviceId).toBe(newId);

    const merged = await admin(['devices', 'merge', newId, oldId, '--json'], svc().adminToken);
    expect(merged.code, merged.err).toBe(0);
    expect(JSON.parse(merged.out)).toMatchObject({ id: oldId, retired: newId });

    // The agent follows by itself: its held long-poll is answered DEVICE_MERGED with a signed notice.
    const mergedAt = Date.now();
    await reinstalled.waitMode('full', 'ASSIGNED', 20_000);
    const followMs = Date.now() - mergedAt;
    expect(identityOf(reinstalled).deviceId).toBe(oldId);
    const st = await reinstalled.status();
    expect(st).toMatchObject({ deviceId: oldId, mode: 'full', revoked: null });
    expect(st.entitlement).toMatchObject({ status: 'licensed', group: lab.group });
    // Woken, not found at its next safety-net round: well under the long-poll wait.
    expect(followMs).toBeLessThan(10_000);
    const events = await reinstalled.logs(['--type', 'merged']);
    expect(events).toEqual([expect.objectContaining({ reason: 'DEVICE_MERGED' })]);
    await waitFor('the merged agent reporting as the old id', async () => {
      const d = await lab.admin.ok('GET', `/devices/${oldId}`);
      return d.lastMode === 'full' && d.facts.hostname === 'reinstalled';
    }, 20_000, 100);
    expect((await lab.admin.get(`/devices/${newId}`)).status).toBe(404);

    // It keeps working across a restart and a later re-enroll with proof (under the old id).
    await reinstalled.stop();
    const again = await reinstalled.enroll(lab.svc.url, lobbyToken);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ deviceId: oldId, reenrolled: true, mode: 'full' });
  }, 240_000);
});

function svc() {
  return lab.svc;
}
