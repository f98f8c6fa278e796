// Per-user licences end to end (issue 16): a real devlic-server, a proxy in
// front of it, and a real devlic-agent daemon whose sign-ins come from a
// utmp file. Proves, through the file enforcer's per-user entries and
// `status --json`: a licensed person on an unlicensed device is full (only
// them); an unlicensed person beside them is read-only and so is the
// machine-wide mode; unassigning the user licence reaches the signed-in
// person within the propagation time; a first sign-in while offline gets the
// device's mode and says so, while a cached user licence holds offline; an
// unlicensed person on a licensed device is full by the device licence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent, startLab, type Lab } from './helpers/agent.ts';
import { startProxy, type Proxy } from './helpers/proxy.ts';
import { waitFor } from '../helpers/processes.ts';

let lab: Lab;
let proxy: Proxy;
let agent: TestAgent;

type UserMode = { user: string; mode: string; licence: string | null; reason: string };

function userModes(): UserMode[] | undefined {
  return (agent.appMode() as { userModes?: UserMode[] } | null)?.userModes;
}

function modeOf(user: string): UserMode | undefined {
  return userModes()?.find((u) => u.user === user);
}

async function waitUser(user: string, mode: string, licence: string | null, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(`${user} ${mode} by ${licence} (now ${JSON.stringify(userModes())})`, () => {
    const u = modeOf(user);
    return !!u && u.mode === mode && u.licence === licence;
  }, timeoutMs, 5);
  return Date.now() - t0;
}

const assignUsers = () => lab.admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff', userGroup: 'Teachers' });
// Taking people's licence needs confirm, like taking devices' seats.
const unassignUsers = () => lab.admin.ok('POST', '/user-licenses/unassign', { subscription: 'Staff', userGroup: 'Teachers', confirm: true });

beforeAll(async () => {
  lab = await startLab();
  proxy = await startProxy(lab.svc.url);
  await lab.admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 5, name: 'Staff' });
  await lab.admin.ok('POST', '/user-groups', { name: 'Teachers' });
  // The agent reports sign-ins by local account name: alice is listed under another spelling on purpose.
  await lab.admin.ok('POST', '/user-groups/Teachers/users', { users: ['.\\ALICE'] });
  await assignUsers();
  agent = new TestAgent('userlic');
  const r = await agent.enroll(proxy.url, await lab.enrollToken());
  expect(r.code, r.stderr).toBe(0);
  await agent.start();
  // The device's group has no licence: the device alone is read-only.
  await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 30_000);
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.close();
  await lab?.svc.stop();
});

describe('per-user licences with a real agent', () => {
  it('gives a licensed person full apps on an unlicensed device, and the machine-wide mode follows them alone', async () => {
    agent.signedIn([{ user: 'alice', line: 'tty1' }]);
    await waitUser('alice', 'full', 'user', 30_000);
    await agent.waitMode('full');
    expect(modeOf('alice')).toMatchObject({ reason: 'ASSIGNED' });
    const st = await agent.status();
    expect(st.mode).toBe('read-only');
    expect(st.machine.mode).toBe('full');
    expect(st.users.find((u: any) => u.name === 'alice')).toMatchObject({ mode: 'full', licence: 'user', reason: 'ASSIGNED' });
  });

  it('keeps an unlicensed person beside them read-only, and then the machine-wide mode is read-only', async () => {
    agent.signedIn([{ user: 'alice', line: 'tty1' }, { user: 'bob', line: 'tty2' }]);
    await waitUser('bob', 'read-only', null, 30_000);
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP');
    expect(modeOf('alice')).toMatchObject({ mode: 'full', licence: 'user' });
    expect(modeOf('bob')).toMatchObject({ reason: 'NOT_IN_LICENSED_GROUP' });
    const st = await agent.status();
    expect(st.users.find((u: any) => u.name === 'bob')).toMatchObject({ mode: 'read-only', licence: null });
    // The fleet view shows, per device, each person and the licence they used.
    await waitFor('fleet view shows both people and their licences', async () => {
      const d = await lab.admin.ok('GET', `/devices/${st.deviceId}`);
      const by = new Map(d.users.map((u: any) => [u.name, u]));
      return (by.get('alice') as any)?.licence === 'user' && (by.get('alice') as any)?.mode === 'full'
        && (by.get('bob') as any)?.mode === 'read-only' && (by.get('bob') as any)?.licence === null;
    }, 30_000, 100);
    // `refresh` through the running daemon says each person's outcome too.
    const rf = await agent.cli(['refresh', '--json']);
    expect(rf.code, rf.stderr).toBe(0);
    expect(JSON.parse(rf.stdout)).toMatchObject({ via: 'agent', users: expect.arrayContaining([
      { user: 'alice', mode: 'full', licence: 'user', reason: 'ASSIGNED' }, { user: 'bob', mode: 'read-only', licence: null, reason: 'NOT_IN_LICENSED_GROUP' }]) });
    const text = (await agent.cli(['status'])).stdout;
    expect(text).toMatch(/alice \(tty1\) full by user licence/);
    expect(text).toMatch(/bob \(tty2\) read-only \(NOT_IN_LICENSED_GROUP\)/);
  });

  it('takes the user licence away from a signed-in person within the propagation time', async () => {
    const t0 = Date.now();
    await unassignUsers();
    await waitUser('alice', 'read-only', null, 10_000);
    const ms = Date.now() - t0;
    console.log(`user licence unassign -> alice read-only on the device in ${ms} ms`);
    expect(ms).toBeLessThan(1000);
    expect(modeOf('alice')).toMatchObject({ reason: 'NOT_IN_LICENSED_GROUP' });
    await assignUsers();
    await waitUser('alice', 'full', 'user', 10_000);
  });

  it('offline: a cached user licence holds, and a first sign-in gets the device mode and says so', async () => {
    proxy.mode = { kind: 'down' };
    agent.signedIn([{ user: 'alice', line: 'tty1' }, { user: 'bob', line: 'tty2' }, { user: 'carol', line: 'tty3' }]);
    await waitFor('carol decided', () => !!modeOf('carol'), 30_000, 10);
    expect(modeOf('carol')).toMatchObject({ mode: 'read-only', licence: null, reason: 'NOT_IN_LICENSED_GROUP' });
    await waitFor('carol first sign-in offline in status', async () => {
      const st = await agent.status();
      return st.users.find((u: any) => u.name === 'carol')?.firstSignIn === 'offline';
    }, 30_000, 200);
    const text = (await agent.cli(['status'])).stdout;
    expect(text).toMatch(/carol \(tty3\) read-only \(NOT_IN_LICENSED_GROUP; first sign-in while offline: the device decides\)/);
    // alice's cached user token is still valid offline.
    expect(modeOf('alice')).toMatchObject({ mode: 'full', licence: 'user' });
    proxy.mode = { kind: 'pass' };
  });

  it('gives an unlicensed person full apps on a licensed device (device licence)', async () => {
    await lab.assign();
    await waitUser('bob', 'full', 'device', 30_000);
    await waitUser('carol', 'full', 'device', 30_000);
    await agent.waitMode('full', 'ASSIGNED');
    // With a device licence everyone is full by it, the personally licensed person too.
    expect(modeOf('alice')).toMatchObject({ mode: 'full', licence: 'device' });
  });

  it('decides per person in a one-shot `refresh` and in `doctor` too, without the daemon', async () => {
    await agent.stop();
    await lab.unassign();
    // Signed in while no daemon ran: refresh reads the sign-ins itself.
    agent.signedIn([{ user: 'alice', line: 'tty1' }, { user: 'bob', line: 'tty2' }, { user: 'dora', line: 'tty4' }]);
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, via: 'direct', mode: 'read-only' });
    const by = new Map<string, any>(out.users.map((u: any) => [u.user, u]));
    expect(by.get('alice')).toMatchObject({ mode: 'full', licence: 'user', reason: 'ASSIGNED' });
    expect(by.get('bob')).toMatchObject({ mode: 'read-only', licence: null, reason: 'NOT_IN_LICENSED_GROUP' });
    // Asked for once by refresh itself: dora now has a (not licensed) answer cached, not a first sign-in.
    expect(by.get('dora')).toMatchObject({ mode: 'read-only', licence: null });
    expect(by.get('dora').firstSignIn).toBeUndefined();
    // Applied per person, and machine-wide read-only because not everyone is full.
    expect(modeOf('alice')).toMatchObject({ mode: 'full', licence: 'user' });
    expect(modeOf('bob')).toMatchObject({ mode: 'read-only' });
    expect(agent.appMode()).toMatchObject({ mode: 'read-only' });
    const text = await agent.cli(['refresh']);
    expect(text.stdout).toMatch(/^User alice: full \(user licence\)$/m);
    expect(text.stdout).toMatch(/^User bob: read-only \(NOT_IN_LICENSED_GROUP\)$/m);
    // doctor judges each person from the cache, as the daemon would.
    const doc = JSON.parse((await agent.cli(['doctor', '--json'])).stdout);
    const checks = new Map<string, any>(doc.checks.map((c: any) => [c.name, c]));
    expect(checks.get('user:alice')).toMatchObject({ status: 'ok', message: 'full by the user licence (ASSIGNED)' });
    expect(checks.get('user:bob')).toMatchObject({ status: 'ok', message: expect.stringContaining('read-only: neither the device nor a user licence covers this person') });
    // Offline, someone never asked about: refresh fails (exit 1) and says the device decided for them; doctor warns.
    proxy.mode = { kind: 'down' };
    try {
      agent.signedIn([{ user: 'alice', line: 'tty1' }, { user: 'erik', line: 'tty5' }]);
      const off = await agent.cli(['refresh', '--json']);
      expect(off.code).toBe(1);
      const users = new Map<string, any>(JSON.parse(off.stdout).users.map((u: any) => [u.user, u]));
      expect(users.get('alice')).toMatchObject({ mode: 'full', licence: 'user' });
      expect(users.get('erik')).toMatchObject({ mode: 'read-only', licence: null, firstSignIn: 'offline' });
      const doc2 = JSON.parse((await agent.cli(['doctor', '--json'])).stdout);
      expect(doc2.checks.find((c: any) => c.name === 'user:erik')).toMatchObject({ status: 'warn', message: expect.stringContaining('no user licence known for this person yet') });
    } finally {
      proxy.mode = { kind: 'pass' };
    }
  }, 240_000);
});
