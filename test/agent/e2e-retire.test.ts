// Retiring a device end to end, with real agents on a real service and the
// real devlic-admin: the retired laptop's agent goes read-only
// (DEVICE_RETIRED) within the usual propagation time, the one seat passes to
// the next device in allocation order, whose agent goes full; a restore
// (confirmed: it takes the seat back) turns them round again.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE, ROOT } from '../helpers/processes.ts';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';

let lab: Lab;
let first: TestAgent;
let second: TestAgent;

function admin(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(ROOT, 'service/admin-cli/main.ts'), ...args], {
      env: { ...process.env, DEVLIC_SERVER: lab.svc.url, DEVLIC_ADMIN_TOKEN: lab.svc.adminToken }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

beforeAll(async () => {
  // One seat for two laptops: the first enrolled (earliest member) holds it.
  lab = await startLab({ seats: 1 });
  first = new TestAgent('retire-a');
  second = new TestAgent('retire-b');
  const token = await lab.enrollToken(2);
  expect((await first.enroll(lab.svc.url, token)).code).toBe(0);
  expect((await second.enroll(lab.svc.url, token)).code).toBe(0);
  await lab.assign();
  await first.start();
  await second.start();
  await first.waitMode('full', 'ASSIGNED', 10_000);
  await second.waitMode('read-only', 'SEATS_EXHAUSTED', 10_000);
});
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await lab?.svc.stop();
});

describe('devices retire with real agents', () => {
  it('without --yes: says who goes read-only and who gets the seat, exits 2, changes nothing', async () => {
    const id = (await first.status()).deviceId;
    const r = await admin(['devices', 'retire', id]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/This makes 1 device read-only: retire-a/);
    expect(r.err).toMatch(/1 other device gets a seat/);
    expect((await lab.admin.ok('GET', `/devices/${id}`)).retired).toBeNull();
    expect(first.appMode()).toMatchObject({ mode: 'full' });
  });

  it('with --yes: the retired agent goes read-only (DEVICE_RETIRED) and the seat passes to the next device', async () => {
    const id = (await first.status()).deviceId;
    const r = await admin(['devices', 'retire', id, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Retired device 'retire-a'/);
    // The usual propagation time: both agents long-poll, so seconds after the change, not a poll interval.
    await first.waitMode('read-only', 'DEVICE_RETIRED', 20_000);
    await second.waitMode('full', 'ASSIGNED', 20_000);
    const dev = await lab.admin.ok('GET', `/devices/${id}`);
    expect(dev).toMatchObject({ licensed: false, reason: 'DEVICE_RETIRED', retired: { by: { name: 'bootstrap admin' }, reason: 'admin' } });
    // Still listed, as retired, and its agent still reports (it is read-only, not cut off).
    const listed = await admin(['devices', 'list']);
    expect(listed.out).toMatch(/retire-a.*RETIRED \d{4}-\d{2}-\d{2} by bootstrap admin/);
    const st = await first.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'DEVICE_RETIRED', revoked: null });
  });

  it('restore needs --yes too (it takes the seat back), then both agents turn round', async () => {
    const id = (await first.status()).deviceId;
    const refused = await admin(['devices', 'restore', id]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/This makes 1 device read-only: retire-b/);
    const r = await admin(['devices', 'restore', id, '--yes']);
    expect(r.code, r.err).toBe(0);
    await first.waitMode('full', 'ASSIGNED', 20_000);
    await second.waitMode('read-only', 'SEATS_EXHAUSTED', 20_000);
    const audit = JSON.parse((await admin(['audit', 'list', '--action', 'device.', '--json'])).out);
    const lifecycle = audit.filter((e: any) => /^device\.(retire|restore)$/.test(e.action));
    expect(lifecycle.map((e: any) => [e.action, e.targetName, e.actor.name])).toEqual([
      ['device.restore', 'retire-a', 'bootstrap admin'], ['device.retire', 'retire-a', 'bootstrap admin'],
    ]);
    expect(lifecycle[1].details.impact).toEqual({ devices: 1, devicesGainingSeat: 1 });
  });
});
