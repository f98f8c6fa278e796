// kill -9 of the agent at seeded random moments during a long run of
// assign/unassign changes. After every kill: the database passes
// integrity_check, it holds at least the newest entitlement the agent had
// acknowledged ('entitlement updated' is logged after the commit), that token
// is one the service really issued, and watermark.json is not ahead of it.
// After every restart with the service unreachable, the mode applied is what
// the cached token says. At the end it converges to the service's state.
// Seed: DEVLIC_CRASH_SEED=<n> replays a run; the seed is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxiedAgent, type Lab, type ProxiedAgent, type TestAgent } from './helpers/agent.ts';
import type { Proxy } from './helpers/proxy.ts';
import { mulberry32 } from '../helpers/prng.ts';

const SEED = process.env.DEVLIC_CRASH_SEED ? Number(process.env.DEVLIC_CRASH_SEED) : Math.floor(Math.random() * 2 ** 32);
const CYCLES = 18;
const rand = mulberry32(SEED);
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let setup: ProxiedAgent;
let lab: Lab;
let proxy: Proxy;
let agent: TestAgent;
let assigned = false;

beforeAll(async () => {
  console.log(`e2e-crash-loop seed ${SEED} (replay with DEVLIC_CRASH_SEED=${SEED})`);
  setup = await proxiedAgent('crash-loop');
  ({ lab, proxy, agent } = setup);
  await agent.start();
  await toggle();
  await agent.waitMode('full', 'ASSIGNED', 20_000);
}, 60_000);
afterAll(async () => { await setup?.stop(); });

async function toggle(): Promise<void> {
  if (assigned) await lab.unassign();
  else await lab.assign();
  assigned = !assigned;
}

/** Kills the agent and waits until everything it wrote to its pipes has been read. */
async function kill9(): Promise<void> {
  const out = agent.proc!.stdout!;
  const closed = out.closed ? Promise.resolve() : new Promise((r) => out.once('close', r));
  await agent.kill9();
  await closed;
}

/** Highest seq the agent logged as 'entitlement updated' in this output. */
function acknowledged(output: string): number {
  let max = 0;
  for (const line of output.split('\n')) {
    if (!line.includes('"entitlement updated"')) continue;
    max = Math.max(max, JSON.parse(line).seq);
  }
  return max;
}

function readDb(): { integrity: string; row: { seq: number; token: string } | undefined } {
  const db = new Database(join(agent.dataDir, 'agent.db'), { readonly: true });
  try {
    return {
      integrity: db.pragma('integrity_check', { simple: true }) as string,
      row: db.prepare('SELECT seq, token FROM entitlement').get() as { seq: number; token: string } | undefined,
    };
  } finally {
    db.close();
  }
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
const watermarkSeq = () => JSON.parse(readFileSync(join(agent.dataDir, 'watermark.json'), 'utf8')).seq as number;

describe(`kill -9 loop (seed ${SEED})`, () => {
  it(`${CYCLES} kills during assign/unassign changes`, async () => {
    const m = (s: string) => `seed ${SEED}: ${s}`;
    let ackedEver = 0;
    let killsAfterAck = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const from = agent.output.length;
      // A few changes close together, then a kill at a random moment: right
      // away (receiving/applying), a little later, or while idle in the long-poll.
      for (let n = between(1, 4); n > 0; n--) {
        await toggle();
        if (n > 1) await sleep(between(0, 40));
      }
      await sleep([0, between(1, 30), between(30, 150)][between(0, 2)]);
      await kill9();

      const acked = acknowledged(agent.output.slice(from));
      ackedEver = Math.max(ackedEver, acked);
      if (acked > 0) killsAfterAck++;
      const { integrity, row } = readDb();
      expect(integrity, m(`integrity after kill ${cycle}`)).toBe('ok');
      expect(row, m('a cached entitlement')).toBeDefined();
      expect(row!.seq, m(`db seq vs newest acknowledged, cycle ${cycle}`)).toBeGreaterThanOrEqual(ackedEver);
      expect(proxy.recorded.some((r) => r.token === row!.token && r.seq === row!.seq), m('the cached token was issued by the service')).toBe(true);
      expect(watermarkSeq(), m('watermark not ahead of the db')).toBeLessThanOrEqual(row!.seq);

      // Restart where nothing newer can be fetched: the mode must be the cached token's.
      const c = claimsOf(row!.token);
      expect(c.seq).toBe(row!.seq);
      const want = c.status === 'licensed' ? { mode: 'full', reason: 'ASSIGNED' } : { mode: 'read-only', reason: c.reason };
      proxy.mode = { kind: 'down' };
      await agent.start();
      await agent.waitMode(want.mode, want.reason, 20_000);
      if (cycle % 3 === 0) expect(await agent.status(), m('status offline')).toMatchObject({ ...want, entitlement: { seq: row!.seq } });
      proxy.mode = { kind: 'pass' };
      // Back online: catch up at once instead of waiting out the backoff; sometimes crash right in it.
      if (rand() < 0.25) {
        const refresh = agent.cli(['refresh']);
        await sleep(between(0, 80));
        await kill9();
        await refresh;
        expect(readDb().integrity, m('integrity after a kill during refresh')).toBe('ok');
        await agent.start();
      } else {
        expect((await agent.cli(['refresh'])).code, m('refresh')).toBe(0);
      }
    }

    // The loop really killed agents that had just taken updates.
    expect(killsAfterAck, m('kills after an acknowledged update')).toBeGreaterThan(CYCLES / 3);

    // Converges to the service's current state.
    if (!assigned) await toggle();
    expect((await agent.cli(['refresh'])).code).toBe(0);
    await agent.waitMode('full', 'ASSIGNED', 20_000);
    const st = await agent.status();
    const dev = await lab.admin.ok('GET', `/devices/${st.deviceId}`);
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', entitlement: { seq: dev.entitlementSeq } });
    expect(watermarkSeq()).toBeLessThanOrEqual(dev.entitlementSeq);
    await toggle();
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 20_000);
    expect((await agent.logs(['--type', 'agent-start'])).length).toBeGreaterThanOrEqual(CYCLES + 1);
    // Crashes left no damage for the start-up check to repair.
    expect(await agent.logs(['--type', 'database-recovered'])).toEqual([]);
  }, 600_000); // a deadline, not a budget: each cycle starts node processes, tens of seconds on a loaded machine
});
