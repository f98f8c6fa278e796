// Nothing but a valid, current, signed entitlement for THIS device gives full
// mode: not an edited database, not a replayed older token, not another
// device's token - whether they arrive over the network or are written into
// agent.db. Real service, real agents, a lying proxy in between.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';
import { startProxy, type Proxy } from './helpers/proxy.ts';
import { waitFor } from '../helpers/processes.ts';

let lab: Lab;
let proxy: Proxy;
let a: TestAgent;
let b: TestAgent;
let aLicensed: { token: string; seq: number };
let bLicensed: { token: string; seq: number };

const readRow = (agent: TestAgent) => {
  const db = new Database(join(agent.dataDir, 'agent.db'), { readonly: true });
  try {
    return db.prepare('SELECT seq, token FROM entitlement').get() as { seq: number; token: string };
  } finally {
    db.close();
  }
};
const writeRow = (agent: TestAgent, seq: number, token: string) => {
  const db = new Database(join(agent.dataDir, 'agent.db'));
  try {
    db.prepare('UPDATE entitlement SET seq = ?, token = ?').run(seq, token);
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  lab = await startLab();
  proxy = await startProxy(lab.svc.url);
  a = new TestAgent('tamper-a');
  b = new TestAgent('tamper-b');
  expect((await a.enroll(proxy.url, await lab.enrollToken())).code).toBe(0);
  expect((await b.enroll(lab.svc.url, await lab.enrollToken())).code).toBe(0);
  await lab.assign();
  await Promise.all([a.start(), b.start()]);
  await Promise.all([a.waitMode('full'), b.waitMode('full')]);
  aLicensed = readRow(a);
  bLicensed = readRow(b);
  await lab.unassign();
  await Promise.all([a.waitMode('read-only', 'NOT_IN_LICENSED_GROUP'), b.waitMode('read-only', 'NOT_IN_LICENSED_GROUP')]);
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await proxy?.close();
  await lab?.svc.stop();
});

describe('over the network', () => {
  it('refuses a replayed older token (licensed, genuine, lower seq)', async () => {
    const current = readRow(a);
    expect(aLicensed.seq).toBeLessThan(current.seq);
    proxy.mode = { kind: 'serve', token: aLicensed.token, seq: aLicensed.seq };
    const r = await a.cli(['refresh', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
    expect(readRow(a)).toEqual(current);
    expect(a.appMode()!.mode).toBe('read-only');
    const rejected = await a.logs(['--type', 'token-rejected']);
    expect(rejected.at(-1)).toMatchObject({ reason: 'TOKEN_REPLAYED' });
  });

  it("refuses another device's genuine licensed token", async () => {
    proxy.mode = { kind: 'serve', token: bLicensed.token, seq: bLicensed.seq + 100 };
    const r = await a.cli(['refresh', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, mode: 'read-only' });
    expect(a.appMode()!.mode).toBe('read-only');
    expect((await a.logs(['--type', 'token-rejected'])).at(-1)).toMatchObject({ reason: 'TOKEN_OTHER_DEVICE' });
  });

  it('refuses a token with an edited payload', async () => {
    const [h, p, sig] = readRow(a).token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = [h, Buffer.from(JSON.stringify({ ...claims, status: 'licensed', reason: 'ASSIGNED', seq: claims.seq + 1 })).toString('base64url'), sig].join('.');
    proxy.mode = { kind: 'serve', token: forged, seq: claims.seq + 1 };
    expect((await a.cli(['refresh'])).code).toBe(1);
    expect(a.appMode()!.mode).toBe('read-only');
    expect((await a.logs(['--type', 'token-rejected'])).at(-1)).toMatchObject({ reason: 'TOKEN_INVALID' });
    proxy.mode = { kind: 'pass' };
  });
});

describe('in the database', () => {
  it('an older genuine licensed token copied into agent.db gives no full mode', async () => {
    await a.stop();
    proxy.mode = { kind: 'down' };
    writeRow(a, 1_000_000, aLicensed.token);
    expect((await a.status())).toMatchObject({ mode: 'read-only', reason: 'TOKEN_REPLAYED' });
    await a.start();
    await a.waitMode('read-only', 'TOKEN_REPLAYED');
  });

  it("another device's token in agent.db gives no full mode", async () => {
    writeRow(a, 1_000_000, bLicensed.token);
    expect((await a.status())).toMatchObject({ mode: 'read-only', reason: 'TOKEN_OTHER_DEVICE' });
    await a.waitMode('read-only', 'TOKEN_OTHER_DEVICE');
  });

  it('an edited token in agent.db gives no full mode', async () => {
    const [h, p, sig] = aLicensed.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = [h, Buffer.from(JSON.stringify({ ...claims, seq: 999_999, exp: claims.exp + 365 * 86400 })).toString('base64url'), sig].join('.');
    writeRow(a, 999_999, forged);
    expect((await a.status())).toMatchObject({ mode: 'read-only', reason: 'TOKEN_INVALID' });
    await a.waitMode('read-only', 'TOKEN_INVALID');
    const doctor = await a.cli(['doctor', '--json']);
    expect(doctor.code).toBe(1);
    expect(JSON.parse(doctor.stdout).checks.find((c: { name: string }) => c.name === 'entitlement')).toMatchObject({ status: 'fail' });
  });

  it('a tampered cache does not block the genuine update once the service is back', async () => {
    await lab.assign();
    proxy.mode = { kind: 'pass' };
    const r = await a.cli(['refresh', '--json']);
    expect(r.code, r.stdout).toBe(0);
    await a.waitMode('full', 'ASSIGNED');
    const row = readRow(a);
    expect(row.seq).toBeLessThan(999_999);
    expect(row.seq).toBeGreaterThan(aLicensed.seq);
    expect((await a.status())).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  });

  it('device B was never affected', async () => {
    await waitFor('b full', () => b.appMode()?.mode === 'full', 20_000, 20);
    expect((await b.status())).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  });
});
