// The shared script of the agent fault-injection tests: licensed devices
// ("tracks"), each a real daemon enrolled through its own fault proxy with its
// own group, and `runFault`, which puts one fault on a track's entitlement
// endpoint and checks what the issue asks: the device keeps its last valid
// state, says clearly why the sync failed, backs off, and recovers once the
// fault clears. Each track has its own group so that several faults can run
// at once without one test's unassign reaching another's device.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { startService, waitFor, type ServiceProcess } from '../../helpers/processes.ts';
import { labOn, TestAgent, type Lab } from './agent.ts';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.ts';

/** Short long-polls and timeouts so that each fault shows within seconds. */
export const AGENT_CONFIG = { requestTimeoutSeconds: 1, waitSeconds: 2 };

export interface Track { lab: Lab; proxy: FaultProxy; agent: TestAgent }

export interface Tracks {
  svc: ServiceProcess;
  all: Track[];
  /** Runs fn on a free track (waiting for one), so concurrent tests never share a device. */
  use<T>(fn: (t: Track) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** One service and n licensed devices; each device's history passes through its proxy (recorded). */
export async function startTracks(name: string, n: number): Promise<Tracks> {
  const svc = await startService();
  // Everything started is stopped again if one track fails to come up: the
  // suite's afterAll never sees a half-built set, and leaked daemons would
  // load the machine for every later test.
  const agents: TestAgent[] = [];
  const proxies: FaultProxy[] = [];
  const settled = await Promise.allSettled(Array.from({ length: n }, async (_, i) => {
    const lab = await labOn(svc);
    const proxy = await startFaultProxy(svc.url);
    proxies.push(proxy);
    // Enrolment is not under test here: it gets the default timeout, so that a
    // loaded machine cannot fail it on the 1 s budget; the daemon gets the short one.
    const agent = new TestAgent(`${name}-${i}`);
    agents.push(agent);
    const r = await agent.enroll(proxy.url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    agent.configure(AGENT_CONFIG);
    await agent.start();
    // Unlicensed first, so that an older genuine token that would make it read-only is on record.
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 60_000);
    await lab.assign();
    await agent.waitMode('full', 'ASSIGNED', 60_000);
    return { lab, proxy, agent };
  }));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled([...agents.map((a) => a.stop()), ...proxies.map((p) => p.close())]);
    await svc.stop();
    throw failed.reason;
  }
  const all = settled.map((r) => (r as PromiseFulfilledResult<Track>).value);
  const free = [...all];
  const waiting: ((t: Track) => void)[] = [];
  return {
    svc, all,
    async use(fn) {
      const t = free.shift() ?? await new Promise<Track>((r) => waiting.push(r));
      try {
        return await fn(t);
      } finally {
        const next = waiting.shift();
        if (next) next(t);
        else free.push(t);
      }
    },
    async stop() {
      await Promise.all(all.map(async (t) => {
        await t.agent.stop();
        await t.proxy.close();
      }));
      await svc.stop();
    },
  };
}

export function readRow(agent: TestAgent): { seq: number; token: string } {
  const db = new Database(join(agent.dataDir, 'agent.db'), { readonly: true });
  try {
    return db.prepare('SELECT seq, token FROM entitlement').get() as { seq: number; token: string };
  } finally {
    db.close();
  }
}

/** The sync state straight from agent.db: cheap enough to poll, unlike spawning `status`. */
function lastSync(agent: TestAgent): { ok: boolean | null; error: string | null } {
  const db = new Database(join(agent.dataDir, 'agent.db'), { readonly: true });
  try {
    const r = db.prepare('SELECT last_ok, last_error FROM sync_state').get() as { last_ok: number | null; last_error: string | null } | undefined;
    return { ok: r?.last_ok == null ? null : r.last_ok === 1, error: r?.last_error ?? null };
  } finally {
    db.close();
  }
}
const lastSyncOk = (agent: TestAgent) => lastSync(agent).ok;

function eventTimes(agent: TestAgent, ev: FaultCase['event'], since: number): number[] {
  const db = new Database(join(agent.dataDir, 'agent.db'), { readonly: true });
  try {
    return (db.prepare('SELECT at FROM events WHERE type = ? AND reason = ? AND at >= ? ORDER BY id').all(ev.type, ev.reason, since) as { at: number }[]).map((r) => r.at);
  } finally {
    db.close();
  }
}

export function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

export interface FaultCase {
  fault: Fault | ((t: Track) => Fault);
  /** What `status --json` lastSync.error must say. */
  error: RegExp;
  /** The event `logs --json` must show for the failed attempts. */
  event: { type: 'sync' | 'token-rejected'; reason: string };
  /** Retry-After the fault sends, in ms: no new request may come sooner. */
  retryAfterMs?: number;
  /** How long to count requests after the first faulty one (default 3 s). */
  windowMs?: number;
}

/**
 * The most entitlement requests allowed in a counting window. The loop's
 * backoff is full jitter (delay uniform in [0, min(5 min, 1 s * 2^n))), so
 * eight attempts within 3 s need seven delays summing under 3 s while their
 * caps are 1, 2, 4, ... 64 s: under 1 in 3,000. A loop without backoff would
 * send hundreds on loopback in that time. (Not a speed test: an upper bound
 * on how hard a failing device hits the service.)
 */
const MAX_IN_WINDOW = 8;

export async function runFault(t: Track, c: FaultCase): Promise<void> {
  const { agent, proxy } = t;
  // A failed earlier case may have left this device mid-recovery: start from a clean, licensed state.
  await waitFor('the device synced and full before the fault', () => lastSyncOk(agent) === true && agent.appMode()?.mode === 'full', 45_000, 50);
  const before = readRow(agent);
  expect(agent.appMode()).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  const fault = typeof c.fault === 'function' ? c.fault(t) : c.fault;
  const mark = proxy.requests.length;
  const setAt = Date.now();
  await proxy.setFault(fault);
  try {
    await underFault(t, c, fault, before, mark, setAt);
  } finally {
    await proxy.setFault({ kind: 'pass' });
  }
  // Cleared: the loop's own next attempt succeeds (no admin refresh) and it follows the service again.
  // On a busy machine the fault phase lasts longer, more attempts fail and the backoff's cap grows
  // (64 s after seven failures), so the wait covers a full capped delay.
  await waitFor('a successful sync after the fault', () => lastSyncOk(agent) === true, 150_000, 50);
  expect(await agent.status()).toMatchObject({ mode: 'full', reason: 'ASSIGNED', lastSync: { ok: true, error: null } });
  await t.lab.unassign();
  await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 15_000);
  await t.lab.assign();
  await agent.waitMode('full', 'ASSIGNED', 15_000);
}

async function underFault(t: Track, c: FaultCase, fault: Fault, before: { seq: number; token: string }, mark: number, setAt: number): Promise<void> {
  const { agent, proxy } = t;
  // The long-poll in flight when the fault starts still passes (or, when the
  // port closes, is cut off: "other side closed"); wait for the fault's own failure.
  await waitFor(`a sync failing with ${c.error}`, () => {
    const s = lastSync(agent);
    if (s.ok === false && c.error.test(s.error ?? '')) return true;
    throw new Error(`last sync ${JSON.stringify(s)}`); // shown if this times out
  }, 20_000, 50);
  const detected = performance.now();
  const windowMs = c.windowMs ?? 3000;
  const faulted = () => proxy.requests.slice(mark).filter((r) => r.fault === fault.kind);

  // While the fault persists (the failed attempts keep coming): still the last
  // valid state, with the reason in plain words. Checked during the counting
  // window so that the backoff does not grow more than it has to.
  const checks = (async () => {
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', entitlement: { status: 'licensed', seq: before.seq, valid: true } });
    expect(st.lastSync.ok).toBe(false);
    expect(st.lastSync.error).toMatch(c.error);
    const events = await agent.logs(['--type', c.event.type]);
    expect(events.at(-1)).toMatchObject({ reason: c.event.reason });
  })();
  // Awaited below; until then a failure must not surface as an unhandled rejection.
  checks.catch(() => undefined);
  if (c.retryAfterMs !== undefined) {
    // Without Retry-After the first failure after a success is retried within 1 s.
    await waitFor('the retry after Retry-After', () => faulted().length >= 2, c.retryAfterMs + 15_000, 20);
    const gaps = faulted().slice(1).map((r, i) => r.at - faulted()[i].at);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(c.retryAfterMs - 50);
  } else {
    await sleep(Math.max(0, detected + windowMs - performance.now()));
  }
  await checks;
  expect(agent.appMode()).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  expect(readRow(agent)).toEqual(before);
  if (c.retryAfterMs !== undefined) return;

  // Counted after the window has passed (the fault is still on, which does not change the past).
  let times: number[];
  if (fault.kind === 'refuse') {
    // Nothing reaches a closed port: count the agent's own record of its attempts
    // (from agent.db: `logs` was checked above, and a spawn would prolong the fault).
    times = eventTimes(agent, c.event, setAt);
  } else {
    times = faulted().map((r) => r.at);
  }
  const inWindow = times.filter((x) => x <= times[0] + windowMs).length;
  expect(inWindow).toBeGreaterThanOrEqual(2); // still trying, not stuck
  expect(inWindow).toBeLessThanOrEqual(MAX_IN_WINDOW);
}
