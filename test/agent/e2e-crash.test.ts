// kill -9 of the agent during a burst of assignment changes: after a restart
// the database is intact (PRAGMA integrity_check), the cache holds the
// service's latest entitlement, and status and the enforcer agree with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';

let lab: Lab;
let agent: TestAgent;

beforeAll(async () => {
  lab = await startLab();
  agent = new TestAgent('crash');
  expect((await agent.enroll(lab.svc.url, await lab.enrollToken())).code).toBe(0);
  await agent.start();
});
afterAll(async () => {
  await agent?.stop();
  await lab?.svc.stop();
});

describe('crash during a burst of updates', () => {
  it('restarts into a consistent mode with an intact database', async () => {
    let assigned = false;
    const toggle = async () => {
      if (assigned) await lab.unassign();
      else await lab.assign();
      assigned = !assigned;
    };
    // A burst: the agent receives, verifies, stores and applies while we kill it.
    for (let i = 0; i < 15; i++) {
      await toggle();
      if (i === 7) await agent.kill9();
      await new Promise((r) => setTimeout(r, 15 + (i % 3) * 20));
    }
    if (!assigned) await toggle(); // end licensed: a reachable wrong answer would be read-only
    // Kill once more right in the middle of applying the final change.
    await agent.start();
    await new Promise((r) => setTimeout(r, 30));
    await agent.kill9();

    const db = new Database(join(agent.dataDir, 'agent.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    await agent.start();
    await agent.waitMode('full', 'ASSIGNED', 20_000);
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
    const dev = await lab.admin.ok('GET', `/devices/${st.deviceId}`);
    expect(st.entitlement.seq).toBe(dev.entitlementSeq);
    // The seq watermark kept beside the database never runs ahead of it.
    const wm = JSON.parse(readFileSync(join(agent.dataDir, 'watermark.json'), 'utf8'));
    expect(wm.seq).toBeLessThanOrEqual(st.entitlement.seq);
    expect(agent.appMode()).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });

    // And it still follows the service afterwards.
    await lab.unassign();
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 20_000);
    const doctor = await agent.cli(['doctor', '--json']);
    const checks = JSON.parse(doctor.stdout).checks;
    expect(checks.find((c: { name: string }) => c.name === 'database')).toMatchObject({ status: 'ok' });
    expect(doctor.code).toBe(0);
    // The mode-change log is an unbroken chain (each change starts where the
    // previous one ended): no change was lost or half-written between kills.
    const changes = await agent.logs(['--type', 'mode-change']);
    expect(changes.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < changes.length; i++) {
      expect(`${changes[i].fields.from}:${changes[i].fields.fromReason}`).toBe(`${changes[i - 1].fields.to}:${changes[i - 1].reason}`);
    }
    expect(changes.at(-1)).toMatchObject({ reason: 'NOT_IN_LICENSED_GROUP', fields: { to: 'read-only' } });
    expect((await agent.logs(['--type', 'agent-start'])).length).toBe(3);
  });
});
