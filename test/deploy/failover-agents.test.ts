// Replica failover with REAL agents (issue 12): three devlic-server replicas
// on one PostgreSQL behind the real HAProxy, six `devlic-agent` daemons
// (file enforcer) enrolled and long-polling through the one HAProxy URL. An
// assign is acknowledged by one replica, which is then killed with SIGKILL
// while it holds some of the agents' long-polls; more changes follow through
// HAProxy. Every agent must end in the mode the service gives it (its
// app-mode file, and its report back at the service), no acknowledged change
// may be lost, and the killed replica, started again, must take long-polls
// and wake them on a change made on another replica.
// Needs PostgreSQL and HAProxy (each skipped loudly without, a failure under
// DEVLIC_REQUIRE_REAL_APPS=1). Every process started is stopped in afterAll,
// also when the set-up fails half-way.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { haproxyMissing, replica, skipWithoutHaproxy, startHaproxy, type HaproxyProcess } from '../helpers/haproxy.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { restartReplica, startReplicas, waitingOn, SKU, type Replica } from '../service-replicas/replicas.ts';
import { TestAgent } from '../agent/helpers/agent.ts';

const skip = skipWithoutHaproxy('the replica failover tests with real agents');
// Skipped loudly above; a skipped test keeps the file from counting as empty (which vitest fails).
const skipped = (name: string) => it.skip(`${name}: needs HAProxy (${haproxyMissing})`, () => {});

const PER_GROUP = 3;
const GROUPS = ['Alpha', 'Beta'] as const;
type Group = typeof GROUPS[number];
// A loaded machine (six sessions on two cores) starts agents slowly; a dead one fails at once.
const CONVERGE_MS = 90_000;
const START_MS = 120_000;

interface Device { agent: TestAgent; id: string; group: Group }

(skip ? skipped : describePostgres)('replicas behind HAProxy with real agents', (cluster) => {
  let replicas: Replica[] = [];
  let lb: HaproxyProcess | undefined;
  const devices: Device[] = [];
  // Every agent made, started or not: afterAll stops each one that runs.
  const agents: TestAgent[] = [];
  let admin: AdminClient;

  beforeAll(async () => {
    replicas = await startReplicas(3, await cluster().createDatabase(), undefined, START_MS);
    lb = await startHaproxy({ servers: replicas.map((r, i) => replica(`r${i + 1}`, r)) });
    admin = adminClient(lb.url, replicas[0].adminToken);
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 100, name: 'Fleet' });
    for (const group of GROUPS) {
      await admin.ok('POST', '/groups', { name: group });
      const { token } = await admin.ok('POST', '/enroll-tokens', { uses: PER_GROUP, group });
      for (let i = 0; i < PER_GROUP; i++) {
        const agent = new TestAgent(`${group}-${i}`);
        agents.push(agent);
        const r = await agent.enroll(lb.url, token);
        if (r.code !== 0) throw new Error(`enroll ${group}-${i} through HAProxy (${r.code}): ${r.stderr}`);
        devices.push({ agent, id: JSON.parse(r.stdout).deviceId, group });
      }
    }
    await Promise.all(agents.map((a) => a.start()));
    await Promise.all(agents.map((a) => a.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', CONVERGE_MS)));
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await lb?.stop();
    await Promise.allSettled(replicas.map((r) => r.stop()));
  }, 120_000);

  const waitingEach = () => Promise.all(replicas.map(async (r) => (r.proc.exitCode === null && r.proc.signalCode === null ? waitingOn(r) : 0)));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

  /**
   * Waits until every agent's file enforcer shows the mode the service gives
   * its device (licensed: full/ASSIGNED, else read-only/NOT_IN_LICENSED_GROUP),
   * that mode is `expect(group)`, and the agent's report of it has reached the
   * service; returns ms from `since` to the last agent's switch.
   */
  async function converged(want: (g: Group) => 'full' | 'read-only', since: number): Promise<number> {
    const at = await Promise.all(devices.map(async (d) => {
      const mode = want(d.group);
      const reason = mode === 'full' ? 'ASSIGNED' : 'NOT_IN_LICENSED_GROUP';
      await d.agent.waitMode(mode, reason, CONVERGE_MS);
      const switched = Date.now();
      const seen = await waitFor(`the service to see ${d.group} device ${d.id} ${mode}`, async () => {
        const v = await admin.ok('GET', `/devices/${d.id}`);
        return v.lastMode === mode ? v : null;
      }, CONVERGE_MS, 100);
      expect({ licensed: seen.licensed, reason: seen.reason, lastReason: seen.lastReason })
        .toEqual({ licensed: mode === 'full', reason, lastReason: reason });
      // The agent still shows what the service says (no flap back after the report).
      expect(d.agent.appMode()).toMatchObject({ mode, reason });
      return switched;
    }));
    return Math.max(...at) - since;
  }

  it('kill -9 of a replica holding agents right after it acknowledged an assign: the agents reconnect through HAProxy, lose nothing and converge; the replica started again takes agents and wakes them', async () => {
    // All six long-polls held, spread over the replicas by leastconn.
    const held = await waitFor('every agent long-polling', async () => {
      const w = await waitingEach();
      return sum(w) >= devices.length && w.filter((n) => n > 0).length >= 2 ? w : null;
    }, CONVERGE_MS, 100);
    // The victim: a replica that holds agents now.
    const v = held.indexOf(Math.max(...held));
    const victim = replicas[v];
    const survivors = replicas.filter((_, i) => i !== v);

    // Acknowledged by the victim itself, its answers possibly still on their way, then SIGKILL.
    await adminClient(victim.url, victim.adminToken).ok('POST', '/licenses/assign', { subscription: 'Fleet', group: 'Alpha', confirm: true });
    const killedAt = Date.now();
    await victim.kill9();
    // A change after the kill, through the one URL.
    await admin.ok('POST', '/licenses/assign', { subscription: 'Fleet', group: 'Beta', confirm: true });
    const convergedMs = await converged(() => 'full', killedAt);
    const down = await lb!.waitForStatus(`r${v + 1}`, 'DOWN', CONVERGE_MS);
    expect(down.checkStatus).toBe('L4CON');
    // Every agent waits on a survivor now.
    await waitFor('every agent long-polling on the survivors', async () => sum(await Promise.all(survivors.map(waitingOn))) >= devices.length, CONVERGE_MS, 100);

    // The killed replica comes back on its port and data folder; HAProxy checks it UP.
    const restartedAt = Date.now();
    const back = await restartReplica(victim, undefined, START_MS);
    replicas[v] = back;
    await lb!.waitForStatus(`r${v + 1}`, 'UP', CONVERGE_MS);
    await waitFor(`a passed /healthz check of r${v + 1}`, async () => (await lb!.server(`r${v + 1}`)).checkStatus === 'L7OK', CONVERGE_MS, 50);
    const rejoinMs = Date.now() - restartedAt;

    // Beta's agents are answered and poll again: leastconn sends the new polls to the empty replica.
    let t = Date.now();
    await admin.ok('POST', '/licenses/unassign', { subscription: 'Fleet', group: 'Beta', confirm: true });
    const unassignMs = await converged((g) => (g === 'Alpha' ? 'full' : 'read-only'), t);
    const onBack = await waitFor(`agents long-polling on the restarted r${v + 1}`, async () => { const n = await waitingOn(back); return n > 0 ? n : null; }, CONVERGE_MS, 100);

    // A change made on another replica reaches the agents held by the restarted one (its LISTEN works again).
    t = Date.now();
    await survivors[0].admin.ok('POST', '/licenses/assign', { subscription: 'Fleet', group: 'Beta', confirm: true });
    const reassignMs = await converged(() => 'full', t);

    // Nothing acknowledged was lost: the four changes, in order, on record.
    const audit = (await admin.ok('GET', '/audit?action=license.&limit=100')).items as Array<{ action: string; target?: unknown }>;
    expect(audit.map((e) => e.action).sort()).toEqual(['license.assign', 'license.assign', 'license.assign', 'license.unassign']);
    const licences = (await admin.ok('GET', '/licenses')).items as Array<{ group: { name: string } }>;
    expect(licences.map((a) => a.group.name).sort()).toEqual(['Alpha', 'Beta']);
    const retried = devices.filter((d) => d.agent.output.includes('retrying sync after a pause')).length;
    console.log(`failover with real agents: ${held.join('/')} long-polls on r1/r2/r3; kill -9 r${v + 1} after its acknowledged assign (${retried} agents logged a failed sync and retried) -> all ${devices.length} agents full and reported in ${convergedMs} ms; ` +
      `r${v + 1} restarted and checked UP in ${rejoinMs} ms; unassign reached all in ${unassignMs} ms; ${onBack} agent(s) then long-polled on r${v + 1}, an assign on another replica reached all in ${reassignMs} ms`);
  }, 600_000);
});
