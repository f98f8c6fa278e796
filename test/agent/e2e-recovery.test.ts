// A damaged or deleted agent.db, with real processes: the read-only commands
// say so (no stack trace), the agent rebuilds the database at start and logs
// it, goes read-only (NO_ENTITLEMENT) while the service is unreachable even
// though the apps were in full mode, refuses a replayed older token (the
// watermark outside the database survives), and is full again after re-sync.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { closeSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { proxiedAgent, type Lab, type ProxiedAgent, type TestAgent } from './helpers/agent.ts';
import type { Proxy } from './helpers/proxy.ts';
import { waitFor } from '../helpers/processes.ts';

// Each case stops, damages and restarts a real agent (several process starts): on a busy
// machine that takes longer than the default 30 s, so the cases wait on events with room to spare.
vi.setConfig({ testTimeout: 120_000 });

let setup: ProxiedAgent;
let lab: Lab;
let proxy: Proxy;
let agent: TestAgent;
let oldLicensed: { token: string; seq: number };

const dbPath = () => join(agent.dataDir, 'agent.db');
/** The moved-aside sets (a database with its -wal/-shm counts once). */
const aside = () => [...new Set(readdirSync(agent.dataDir).filter((n) => n.startsWith('agent.db.corrupt-')).map((n) => n.replace(/-(wal|shm)$/, '')))];
const watermark = () => JSON.parse(readFileSync(join(agent.dataDir, 'watermark.json'), 'utf8')).seq as number;

function overwritePages(path: string): void {
  const pages = Math.floor(statSync(path).size / 4096);
  const fd = openSync(path, 'r+');
  try { writeSync(fd, Buffer.alloc(2 * 4096, 0x5a), 0, 2 * 4096, Math.max(1, Math.floor(pages / 2)) * 4096); } finally { closeSync(fd); }
}

beforeAll(async () => {
  setup = await proxiedAgent('recovery');
  ({ lab, proxy, agent } = setup);
  await agent.start();
  // seq 1 licensed (kept for the replay below), then unlicensed, then licensed again.
  await lab.assign();
  await agent.waitMode('full', 'ASSIGNED');
  oldLicensed = proxy.recorded.at(-1)!;
  await lab.unassign();
  await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP');
  await lab.assign();
  await agent.waitMode('full', 'ASSIGNED');
  // Enough events to span many pages, so a damaged middle page is not the header.
  for (let i = 0; i < 3; i++) expect((await agent.cli(['refresh'])).code).toBe(0);
}, 90_000);
afterAll(async () => { await setup?.stop(); });

/** The read-only commands with a damaged database: clear words, no stack trace, nothing touched. */
async function expectReportedDamaged(): Promise<void> {
  const before = statSync(dbPath()).mtimeMs;
  const st = await agent.cli(['status', '--json']);
  expect(st.code, st.stderr).toBe(0);
  const s = JSON.parse(st.stdout);
  expect(s).toMatchObject({ mode: 'read-only', reason: 'NO_ENTITLEMENT', database: { ok: false } });
  expect(s.database.error).toMatch(/damaged/);
  expect(s.database.hint).toMatch(/devlic-agent run/);
  const human = await agent.cli(['status']);
  expect(human.stdout).toMatch(/Database\s+DAMAGED/);
  const logs = await agent.cli(['logs']);
  expect(logs.code).toBe(1);
  expect(logs.stderr).toMatch(/agent database .* is damaged/);
  expect(logs.stderr).toMatch(/devlic-agent run/);
  const doctor = await agent.cli(['doctor', '--json']);
  expect(doctor.code).toBe(1);
  expect(JSON.parse(doctor.stdout).checks.find((c: { name: string }) => c.name === 'database')).toMatchObject({ status: 'fail', message: expect.stringMatching(/damaged.*rebuilds/) });
  for (const r of [st, human, logs, doctor]) expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(statSync(dbPath()).mtimeMs).toBe(before);
  expect(aside().length).toBeLessThanOrEqual(3);
}

/** Starts the agent offline, checks the rebuild and read-only mode, then re-syncs to full. */
async function expectRecovered(reason: RegExp, opts: { kept: boolean }): Promise<void> {
  const setsBefore = aside();
  const from = agent.output.length;
  proxy.mode = { kind: 'down' };
  await agent.start();
  // The apps were in full mode; without a token they must not stay there.
  await agent.waitMode('read-only', 'NO_ENTITLEMENT', 30_000);
  const out = agent.output.slice(from);
  expect(out).toMatch(/agent database was (damaged|missing)/);
  const ev = await agent.logs(['--type', 'database-recovered']);
  expect(ev).toHaveLength(1);
  expect(ev[0].reason).toMatch(reason);
  const moved: string[] = ev[0].fields.movedTo;
  if (opts.kept) {
    expect(moved.length).toBeGreaterThanOrEqual(1);
    for (const f of moved) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(aside().filter((n) => !setsBefore.includes(n))).toHaveLength(1);
  }
  expect(aside().length).toBeLessThanOrEqual(3);
  const db = new Database(dbPath(), { readonly: true });
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();
  expect(statSync(dbPath()).mode & 0o777).toBe(0o600);
  expect(await agent.status()).toMatchObject({ mode: 'read-only', reason: 'NO_ENTITLEMENT', database: { ok: true } });

  // Service reachable again: re-sync (refresh cuts the agent's backoff short) and full.
  proxy.mode = { kind: 'pass' };
  const r = await agent.cli(['refresh', '--json']);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  await agent.waitMode('full', 'ASSIGNED', 30_000);
  const st = await agent.status();
  expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  expect(st.entitlement.seq).toBeGreaterThanOrEqual(watermark());
  const doctor = await agent.cli(['doctor', '--json']);
  expect(JSON.parse(doctor.stdout).checks.find((c: { name: string }) => c.name === 'database')).toMatchObject({ status: 'ok' });
}

describe('a damaged agent database', () => {
  it.each([
    ['garbage over the file', () => writeFileSync(dbPath(), Buffer.alloc(200 * 1024, 0x41)), /DB_NOT_A_DATABASE/],
    ['a truncated file', () => truncateSync(dbPath(), Math.floor(statSync(dbPath()).size / 3)), /DB_CORRUPT|DB_INTEGRITY_FAILED/],
    ['corrupted pages in the middle (header intact)', () => overwritePages(dbPath()), /DB_CORRUPT|DB_INTEGRITY_FAILED/],
  ] as const)('%s: reported, rebuilt read-only, full after re-sync', async (_name, damage, reason) => {
    expect(agent.appMode()!.mode).toBe('full');
    await agent.stop();
    // A checkpointed file only: the damage is in agent.db itself.
    expect(existsSync(`${dbPath()}-wal`) && statSync(`${dbPath()}-wal`).size > 0).toBe(false);
    damage();
    await expectReportedDamaged();
    await expectRecovered(reason, { kept: true });
  });
});

describe('a deleted agent database', () => {
  it('deleted with its -wal and -shm while stopped: rebuilt, reported missing', async () => {
    await agent.stop();
    for (const s of ['', '-wal', '-shm']) rmSync(dbPath() + s, { force: true });
    // No database: status says so by judging without it, and nothing crashes.
    expect(await agent.status()).toMatchObject({ mode: 'read-only', reason: 'NO_ENTITLEMENT', database: { ok: true } });
    await expectRecovered(/DB_MISSING/, { kept: false });
  });

  it('deleted after a kill -9, its -wal and -shm left behind: those are moved aside too', async () => {
    await agent.kill9();
    expect(existsSync(`${dbPath()}-wal`)).toBe(true);
    rmSync(dbPath());
    await expectRecovered(/DB_MISSING/, { kept: true });
    const ev = await agent.logs(['--type', 'database-recovered']);
    expect(ev[0].fields.movedTo.some((f: string) => f.endsWith('-wal'))).toBe(true);
  });

  it('deleted while the agent runs: it exits 1 leaving the apps alone, and its restart rebuilds', async () => {
    expect(agent.appMode()!.mode).toBe('full');
    const from = agent.output.length;
    for (const s of ['', '-wal', '-shm']) rmSync(dbPath() + s, { force: true });
    // The minute's re-decision (every second in this test's config) notices; a service manager restarts it.
    await waitFor('the agent to exit', () => agent.proc!.exitCode !== null, 15_000, 50);
    expect(agent.proc!.exitCode).toBe(1);
    expect(agent.output.slice(from)).toMatch(/database .* was deleted while the agent ran; exiting so that the service manager restarts the agent/);
    // Exiting is not a reason to take the licence away from the person at the device.
    expect(agent.appMode()!.mode).toBe('full');
    expect(existsSync(dbPath())).toBe(false);
    await expectRecovered(/DB_MISSING/, { kept: false });
  });
});

describe('after a rebuild the watermark still refuses replays', () => {
  it('an older genuine licensed token served after the rebuild gives no full mode', async () => {
    expect(oldLicensed.seq).toBeLessThan(watermark());
    await agent.stop();
    writeFileSync(dbPath(), Buffer.alloc(64 * 1024, 0x42));
    proxy.mode = { kind: 'serve', token: oldLicensed.token, seq: oldLicensed.seq };
    await agent.start();
    await agent.waitMode('read-only', 'NO_ENTITLEMENT', 30_000);
    const rejected = await waitFor('replay refused', async () => {
      const e = await agent.logs(['--type', 'token-rejected']);
      return e.length ? e : null;
    }, 15_000, 250);
    expect(rejected.at(-1)).toMatchObject({ reason: 'TOKEN_REPLAYED' });
    const st = await agent.status();
    expect(st).toMatchObject({ mode: 'read-only', reason: 'NO_ENTITLEMENT' });
    expect(st.entitlement.seq).toBeNull();
    expect(agent.appMode()).toMatchObject({ mode: 'read-only' });
    // The genuine current one is accepted.
    proxy.mode = { kind: 'pass' };
    expect((await agent.cli(['refresh'])).code).toBe(0);
    await agent.waitMode('full', 'ASSIGNED', 30_000);
    // Five rebuilds with kept files so far; only the newest three sets remain.
    expect(aside()).toHaveLength(3);
  });
});
