// What a new user trips over in the first hour, against a real service and
// real agent processes: a server URL with the API path in it, https:// to a
// plain-HTTP service, `run` and `status` before enrolling, `doctor` with no
// data folder, and a second data folder on the same hardware.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';
import { waitFor } from '../helpers/processes.ts';

let lab: Lab;
const agents: TestAgent[] = [];
const agent = (name: string, opts: ConstructorParameters<typeof TestAgent>[1] = {}) => {
  const a = new TestAgent(name, opts);
  agents.push(a);
  return a;
};

beforeAll(async () => { lab = await startLab(); }, 60_000);
afterAll(async () => {
  for (const a of agents) await a.stop();
  await lab?.svc.stop();
});

describe('the server URL', () => {
  it('refuses a URL that includes the API path, naming the base URL, and creates nothing', async () => {
    const a = agent('v1');
    for (const suffix of ['/v1', '/v1/', '/v1/enroll']) {
      const r = await a.cli(['enroll', '--server', lab.svc.url + suffix, '--token', await lab.enrollToken()]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`includes the API path '${suffix}'`);
      expect(r.stderr).toContain(`give the service's base URL: ${lab.svc.url}/ (the agent adds /v1/... itself)`);
      expect(r.stderr).not.toMatch(/no route/);
      expect(existsSync(a.dataDir)).toBe(false);
    }
  });

  it('says that a base URL with a wrong path is not a devlic service, rather than an unrelated hint', async () => {
    const a = agent('path');
    const r = await a.cli(['enroll', '--server', `${lab.svc.url}/devlic`, '--token', await lab.enrollToken()]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${lab.svc.url}/devlic does not look like the base URL of a devlic service (nothing answers enrollment there); check --server`);
  });

  it('says that an http service does not speak TLS when given https://', async () => {
    const a = agent('tls');
    const https = lab.svc.url.replace(/^http:/, 'https:');
    const r = await a.cli(['enroll', '--server', https, '--token', await lab.enrollToken()]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`the server at ${https} does not speak TLS (it answers plain HTTP); did you mean ${lab.svc.url}/?`);
    expect(r.stderr).not.toMatch(/wrong version number|EPROTO/);
  });
});

describe('before enrolling', () => {
  it('run warns that the device is not enrolled and how to enroll; status exits 1 with the hint', async () => {
    const a = agent('idle');
    await a.start();
    const warn = await waitFor('not-enrolled warning', () => a.output.split('\n').filter(Boolean).map((l) => {
      try { return JSON.parse(l); } catch { return null; }
    }).find((l) => l?.reason === 'NOT_ENROLLED' && /not enrolled/.test(l.msg)), 10_000);
    expect(warn.level).toBe(40); // pino's warn
    expect(warn.msg).toMatch(/not enrolled.*devlic-agent enroll --server URL --token T/);
    const st = await a.cli(['status', '--json']);
    expect(st.code).toBe(1);
    expect(JSON.parse(st.stdout)).toMatchObject({ enrolled: false, reason: 'NOT_ENROLLED' });
    expect(st.stderr).toMatch(/not enrolled\n\s+enroll it: devlic-agent enroll --server URL --token T/);
    // Enrolling while it runs is picked up, and status is 0 from then on.
    const r = await a.enroll(lab.svc.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    expect((await a.cli(['status', '--json'])).code).toBe(0);
  }, 90_000);

  it('doctor with no data folder does not claim it can write into it', async () => {
    const a = agent('doctor');
    const r = await a.cli(['doctor', '--json']);
    expect(r.code).toBe(1);
    const checks = JSON.parse(r.stdout).checks as { name: string; status: string; message: string }[];
    expect(checks.find((c) => c.name === 'data-dir')).toMatchObject({ status: 'fail', message: expect.stringMatching(/does not exist/) });
    const file = checks.find((c) => c.name === 'enforcer:file')!;
    expect(file.message).not.toMatch(/^can write/);
    expect(file.message).toContain(`${a.dataDir} does not exist yet`);
    expect(existsSync(a.dataDir)).toBe(false);
  });
});

describe('a second data folder on the same hardware', () => {
  it('gets a new device id flagged as a duplicate, with a warning, and the first agent keeps working', async () => {
    const machineId = randomBytes(16).toString('hex');
    const first = agent('same-hw-1', { machineId, hardwareUuid: 'HW-UUID-SAME' });
    const r1 = await first.enroll(lab.svc.url, await lab.enrollToken());
    expect(r1.code, r1.stderr).toBe(0);
    const firstId = JSON.parse(r1.stdout).deviceId;
    const second = agent('same-hw-2', { machineId, hardwareUuid: 'HW-UUID-SAME' });
    const r2 = await second.cli(['enroll', '--server', lab.svc.url, '--token', await lab.enrollToken()]);
    expect(r2.code, r2.stderr).toBe(0);
    const secondId = JSON.parse(readFileSync(join(second.dataDir, 'identity.json'), 'utf8')).deviceId;
    expect(secondId).not.toBe(firstId);
    expect(r2.stdout).toContain(`Warning: the service already knows a device with the same hardware (${firstId})`);
    expect(r2.stdout).toContain(`devlic-admin devices merge ${secondId} ${firstId}`);
    expect(r2.stdout).toContain(`devlic-admin devices retire ${secondId}`);
    // The first is neither revoked nor taken over.
    const refresh = await first.cli(['refresh', '--json']);
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(JSON.parse(refresh.stdout)).toMatchObject({ ok: true });
    expect((await first.status()).revoked).toBeNull();
    const d = await lab.admin.ok('GET', `/devices/${secondId}`);
    expect(JSON.stringify(d)).toContain(firstId);
  }, 90_000);
});
