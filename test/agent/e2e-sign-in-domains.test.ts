// Sign-in domain aliases end to end (issue 16): a real devlic-server and a
// real devlic-agent daemon whose sign-in comes from a utmp file as a Windows
// device reports it, `CORP\alice`. A user group lists the person as
// directory sync names them, `alice@corp.example.com`. Without an alias they
// are two people (read-only); once an admin says CORP stands for
// corp.example.com she is full by her user licence, and after the alias is
// removed she is read-only again. The agent accepts the service's answer for
// the name it asked about (the token names the person too).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent, startLab, type Lab } from './helpers/agent.ts';
import { waitFor } from '../helpers/processes.ts';

let lab: Lab;
let agent: TestAgent;

type UserMode = { user: string; mode: string; licence: string | null; reason: string };
const modeOf = (user: string) => (agent.appMode() as { userModes?: UserMode[] } | null)?.userModes?.find((u) => u.user === user);

async function waitUser(user: string, mode: string, licence: string | null, reason: string, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(`${user} ${mode} by ${licence} (${reason}); now ${JSON.stringify(modeOf(user))}`, () => {
    const u = modeOf(user);
    return !!u && u.mode === mode && u.licence === licence && u.reason === reason;
  }, timeoutMs, 5);
  return Date.now() - t0;
}

beforeAll(async () => {
  lab = await startLab();
  await lab.admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_USER', seats: 5, name: 'Staff' });
  await lab.admin.ok('POST', '/user-groups', { name: 'Teachers' });
  await lab.admin.ok('POST', '/user-groups/Teachers/users', { users: ['alice@corp.example.com'] });
  await lab.admin.ok('POST', '/user-licenses/assign', { subscription: 'Staff', userGroup: 'Teachers' });
  agent = new TestAgent('netbios');
  const r = await agent.enroll(lab.svc.url, await lab.enrollToken());
  expect(r.code, r.stderr).toBe(0);
  await agent.start();
  await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 30_000);
});

afterAll(async () => {
  await agent?.stop();
  await lab?.svc.stop();
});

describe('a device reporting CORP\\alice, a user group listing alice@corp.example.com', () => {
  it('without an alias they are two people: read-only', async () => {
    agent.signedIn([{ user: 'CORP\\alice', line: 'tty1' }]);
    await waitUser('alice@corp', 'read-only', null, 'NOT_IN_LICENSED_GROUP', 30_000);
    // Asked and answered (not just undecided): the service's answer is stored.
    await waitFor('alice@corp answered by the service', async () => (await agent.status()).users.some((u: any) => u.name === 'CORP\\alice' && u.firstSignIn === null), 30_000, 100);
  });

  it('with CORP -> corp.example.com she is full by her user licence', async () => {
    const t0 = Date.now();
    await lab.admin.ok('POST', '/sign-in-domains', { netbios: 'CORP', dns: 'corp.example.com' });
    await waitUser('alice@corp', 'full', 'user', 'ASSIGNED', 10_000);
    const ms = Date.now() - t0;
    console.log(`sign-in domain alias added -> CORP\\alice full on the device in ${ms} ms`);
    expect(ms).toBeLessThan(1000);
    await agent.waitMode('full');
    const st = await agent.status();
    expect(st.users.find((u: any) => u.name === 'CORP\\alice')).toMatchObject({ mode: 'full', licence: 'user', reason: 'ASSIGNED', person: 'alice@corp.example.com' });
    await waitFor('fleet view names the person', async () => {
      const d = await lab.admin.ok('GET', `/devices/${st.deviceId}`);
      return d.users.some((u: any) => u.name === 'CORP\\alice' && u.person === 'alice@corp.example.com' && u.licence === 'user');
    }, 30_000, 100);
  });

  it('after the alias is removed she is read-only again', async () => {
    const t0 = Date.now();
    await lab.admin.ok('POST', '/sign-in-domains/CORP/remove', { confirm: true });
    await waitUser('alice@corp', 'read-only', null, 'NOT_IN_LICENSED_GROUP', 10_000);
    const ms = Date.now() - t0;
    console.log(`sign-in domain alias removed -> CORP\\alice read-only on the device in ${ms} ms`);
    expect(ms).toBeLessThan(1000);
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP');
  });
});
