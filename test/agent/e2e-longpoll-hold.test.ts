// The adaptive long-poll hold (agent/sync/hold.ts) against a real middlebox:
// the real HAProxy in front of a real devlic-server, its client and server
// timeouts cut to CUT_S seconds (a proxy that drops idle requests, shorter
// than the holds the agent grows to). A real `devlic-agent run` with
// waitSeconds 2, maxWaitSeconds 20 and a hold lengthened after 3 s of normal
// holds (600 s by default) holds 2 s, then 5 s, is cut when it
// tries 10 s, goes back to 5 s and keeps it (learned in longpoll-hold.json,
// also across a restart), and an assign still reaches its enforcer at once.
// Needs HAProxy (skipped loudly without, a failure under DEVLIC_REQUIRE_REAL_APPS=1).
// Then a middlebox that drops a held request silently (the fault proxy
// holds the answer past the agent's own deadline): an agent that had learned
// 20 s steps its hold down and gets changes again once the path is clear.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyMissing, replica, skipWithoutHaproxy, startHaproxy, type HaproxyProcess } from '../helpers/haproxy.ts';
import { waitFor } from '../helpers/processes.ts';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.ts';

const skip = skipWithoutHaproxy('the adaptive long-poll hold behind HAProxy');
const CUT_S = 8;

/** HAProxy's log lines for the device long-poll: the hold asked and the status it answered. */
function longPolls(lb: HaproxyProcess): { wait: number; status: number }[] {
  const out: { wait: number; status: number }[] = [];
  for (const line of lb.output().split('\n')) {
    const m = line.match(/ (\d{3}) .*"GET \/v1\/device\/entitlement\?wait=(\d+) /);
    if (m) out.push({ wait: Number(m[2]), status: Number(m[1]) });
  }
  return out;
}

// Skipped only on a developer machine without HAProxy (printed loudly by skipWithoutHaproxy); CI requires it, so there it always runs.
describe.skipIf(skip)(`the long-poll hold behind a proxy that cuts idle requests after ${CUT_S} s${skip ? ` (needs HAProxy: ${haproxyMissing})` : ''}`, () => {
  let lab: Lab | undefined;
  let lb: HaproxyProcess | undefined;
  let agent: TestAgent | undefined;

  afterAll(async () => {
    await agent?.stop();
    await lb?.stop();
    await lab?.svc.stop();
  }, 60_000);

  it('grows until cut, backs off to the hold that worked, keeps it across a restart, and changes still arrive at once', async () => {
    lab = await startLab();
    lb = await startHaproxy({
      servers: [replica('r1', lab.svc)],
      transform: (c) => c.replace(/timeout client \d+s/, `timeout client ${CUT_S}s`).replace(/timeout server \d+s/, `timeout server ${CUT_S}s`),
    });
    expect(lb.config).toContain(`timeout server ${CUT_S}s`);
    expect(lb.config).toContain(`timeout client ${CUT_S}s`);
    agent = new TestAgent('hold', { config: { waitSeconds: 2, maxWaitSeconds: 20, waitGrowAfterSeconds: 3, requestTimeoutSeconds: 5 } });
    const r = await agent.enroll(lb.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    await agent.start();
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 30_000);

    // 2 s and 5 s end normally; 10 s is cut by HAProxy at 8 s.
    const holdFile = join(agent.dataDir, 'longpoll-hold.json');
    const learned = await waitFor('the agent to learn that 10 s is cut', () => {
      if (!existsSync(holdFile)) return null;
      const j = JSON.parse(readFileSync(holdFile, 'utf8'));
      return j.ceiling !== null ? j : null;
    }, 90_000, 100);
    expect(learned).toMatchObject({ server: lb.url, good: 5, ceiling: 10 });
    const seen = longPolls(lb);
    const firstCut = seen.findIndex((p) => p.status !== 304);
    expect(seen[firstCut]).toMatchObject({ wait: 10 });
    // Before it, 2 s then 5 s, each kept until it had worked for 3 s.
    expect([...new Set(seen.slice(0, firstCut).map((p) => p.wait))]).toEqual([2, 5]);

    // From then on it holds 5 s and is not cut again.
    const cutsBefore = longPolls(lb).filter((p) => p.status !== 304).length;
    const before = longPolls(lb).length;
    await waitFor('three more long-polls', () => longPolls(lb!).length >= before + 3, 60_000, 100);
    const after = longPolls(lb).slice(before);
    expect(after.every((p) => p.wait === 5 && p.status === 304), JSON.stringify(after)).toBe(true);
    expect(longPolls(lb).filter((p) => p.status !== 304).length).toBe(cutsBefore);

    // A change is answered at once, whatever the hold.
    await lab.assign();
    expect(await agent.waitMode('full', 'ASSIGNED', 10_000)).toBeLessThan(5000);

    // Restarted, it starts at the hold it learned, not at waitSeconds.
    await agent.stop();
    const beforeRestart = longPolls(lb).length;
    await agent.start();
    await waitFor('a long-poll after the restart', () => longPolls(lb!).length > beforeRestart, 30_000, 100);
    expect(longPolls(lb)[beforeRestart]).toEqual({ wait: 5, status: 304 });
  }, 240_000);
});

describe('the long-poll hold after a silent drop', () => {
  let lab: Lab | undefined;
  let proxy: FaultProxy | undefined;
  let agent: TestAgent | undefined;
  afterAll(async () => {
    await agent?.stop();
    await proxy?.close();
    await lab?.svc.stop();
  }, 60_000);

  it('an agent that had learned 20 s is cut at its own deadline, steps down, and changes arrive again', async () => {
    lab = await startLab();
    proxy = await startFaultProxy(lab.svc.url);
    agent = new TestAgent('hold-drop');
    const r = await agent.enroll(proxy.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    agent.configure({ waitSeconds: 2, maxWaitSeconds: 20, requestTimeoutSeconds: 2 });
    const holdFile = join(agent.dataDir, 'longpoll-hold.json');
    const server = new URL(proxy.url).origin;
    writeFileSync(holdFile, JSON.stringify({ server, good: 20, ceiling: null, ceilingAt: null }), { mode: 0o600 });
    await agent.start();
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 30_000);
    // The long-poll in flight passes; the next one is never answered in time (20 s hold + 2 s deadline).
    await proxy.setFault({ kind: 'hold', ms: 60_000 });
    const learned = await waitFor('the agent to step its hold down after the silent drop', () => {
      const j = JSON.parse(readFileSync(holdFile, 'utf8'));
      return j.good < 20 ? j : null;
    }, 90_000, 100);
    // One step below the hold that was lost, and that hold is not tried again for a day.
    expect(learned).toMatchObject({ server, good: 15, ceiling: 20 });
    await proxy.setFault({ kind: 'pass' });
    await lab.assign();
    await agent.waitMode('full', 'ASSIGNED', 60_000);
  }, 240_000);
});
