// Signing-key rotation end to end: a real service rotated with the real
// `devlic-server keys` command and restarted, real agent daemons. Online
// agents pin the new key through the chain without re-enrolling and stay
// full; an agent away through two rotations (and the retirement of the key
// it knew) catches up when it comes back; a forged key set served by a proxy
// - a new key endorsed by a stranger, and by the old key after it leaked -
// is refused and the device keeps its cached entitlement; a retired key is
// no longer published and its tokens are never served again.
import { createPrivateKey } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, NODE, ROOT, startService, tempDir, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { labOn, TestAgent, type CliResult, type Lab } from './helpers/agent.ts';
import { startProxy, type Proxy } from './helpers/proxy.ts';
import { claimsOf, readRow } from './helpers/faults.ts';
import { generateSigningKey, publicJwk, signEntitlement, tokenKid, type SigningKey } from '../../shared/token.ts';
import { signKeyLink } from '../../shared/keychain.ts';

const CONFIG = { waitSeconds: 5, requestTimeoutSeconds: 5 };
const T = 120_000;

let dataDir: string;
let port: number;
let svc: ServiceProcess;
let lab: Lab;
let proxy: Proxy;
/** Online throughout, straight to the service. */
const online = new TestAgent('keyrot-online', { config: CONFIG });
/** Stopped before the first rotation, started after the second and the retirement. */
const away = new TestAgent('keyrot-away', { config: CONFIG });
/** Online through a proxy that later serves a forged key set. */
const guarded = new TestAgent('keyrot-guarded', { config: CONFIG });
const kids: string[] = [];
/** The first key's private half, copied before rotation deleted it: a leak. */
let leaked: SigningKey;
let awayRow: { seq: number; token: string };

function keysCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(ROOT, 'service/main.ts'), 'keys', ...args, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function restart(): Promise<void> {
  await svc.stop();
  svc = await startService({ dataDir, port });
}

const identityOf = (a: TestAgent) => JSON.parse(readFileSync(join(a.dataDir, 'identity.json'), 'utf8'));
const pinned = (a: TestAgent): string[] => identityOf(a).keys.keys.map((k: { kid: string }) => k.kid);
const getJson = async (path: string) => (await fetch(`${svc.url}${path}`)).json() as Promise<any>;

function events(a: TestAgent, type: string): { reason: string; fields: any }[] {
  const db = new Database(join(a.dataDir, 'agent.db'), { readonly: true });
  try {
    return (db.prepare('SELECT reason, fields FROM events WHERE type = ? ORDER BY id').all(type) as { reason: string; fields: string }[])
      .map((e) => ({ reason: e.reason, fields: JSON.parse(e.fields ?? '{}') }));
  } finally {
    db.close();
  }
}

/** Every mode the device was put in since it started: the rotation must never cost a full device its mode. */
const modesApplied = (a: TestAgent) => events(a, 'mode-change').map((e) => `${e.fields.to}:${e.reason}`);

/** Waits until the agent pins exactly `want` and holds a token signed by its last key. */
async function waitPinned(a: TestAgent, want: string[]): Promise<void> {
  await waitFor(`${a.dataDir} pins ${want.join(',')} and holds a token from ${want.at(-1)} (pins ${pinned(a)}, token ${tokenKid(readRow(a).token)})`,
    () => JSON.stringify(pinned(a)) === JSON.stringify(want) && tokenKid(readRow(a).token) === want.at(-1), 60_000, 100);
}

beforeAll(async () => {
  dataDir = join(tempDir('svc-keyrot'), 'data');
  port = await freePort();
  svc = await startService({ dataDir, port });
  lab = await labOn(svc);
  await lab.assign();
  proxy = await startProxy(svc.url);
  for (const [a, url] of [[online, svc.url], [away, svc.url], [guarded, proxy.url]] as const) {
    const r = await a.enroll(url, await lab.enrollToken());
    expect(r.code, r.stderr).toBe(0);
    await a.start();
  }
  await Promise.all([online, away, guarded].map((a) => a.waitMode('full', 'ASSIGNED', 20_000)));
  kids.push((await getJson('/.well-known/jwks.json')).keys[0].kid);
  const ring = JSON.parse(readFileSync(join(dataDir, 'signing-key.json'), 'utf8'));
  const privateKey = createPrivateKey(ring.keys[0].privateKey);
  leaked = { kid: ring.keys[0].kid, privateKey, publicKey: privateKey };
  await away.stop();
  awayRow = readRow(away);
}, T);

afterAll(async () => {
  await Promise.all([online, away, guarded].map((a) => a.stop()));
  await proxy?.close();
  await svc?.stop();
});

describe('signing-key rotation', () => {
  it('rotate + restart: online agents pin the new key through the chain, without re-enrolling, and stay full', async () => {
    const before = identityOf(online);
    expect(JSON.parse((await keysCli(['list', '--json'])).stdout)).toEqual([expect.objectContaining({ kid: kids[0], state: 'active' })]);
    const r = await keysCli(['rotate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rotated = JSON.parse(r.stdout);
    expect(rotated).toMatchObject({ previous: kids[0], restartRequired: true });
    kids.push(rotated.kid);
    expect(statSync(join(dataDir, 'signing-key.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse((await keysCli(['list', '--json'])).stdout).map((k: any) => `${k.kid}:${k.state}`)).toEqual([`${kids[0]}:previous`, `${kids[1]}:active`]);

    await restart();
    expect((await getJson('/.well-known/jwks.json')).keys.map((k: any) => k.kid)).toEqual(kids);
    expect((await getJson('/.well-known/devlic-keys')).chain).toHaveLength(1);

    await waitPinned(online, kids);
    await waitPinned(guarded, kids);
    const after = identityOf(online);
    // The same enrollment: same device, same enrollment time, old key kept for the tokens it signed.
    expect(after).toMatchObject({ deviceId: before.deviceId, enrolledAt: before.enrolledAt, reenrolled: before.reenrolled });
    expect(statSync(join(online.dataDir, 'identity.json')).mode & 0o777).toBe(0o600);
    expect(events(online, 'keys')).toEqual([{ reason: 'KEY_PINNED', fields: { kids: [kids[1]] } }]);
    expect(events(online, 'key-rejected')).toEqual([]);
    for (const a of [online, guarded]) {
      expect(modesApplied(a)).toEqual(['full:ASSIGNED']);
      expect(a.appMode()).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
    }
    const st = await online.status();
    expect(st).toMatchObject({ mode: 'full', reason: 'ASSIGNED', pinnedKeys: kids, entitlement: { valid: true } });
    expect((await online.cli(['status'])).stdout).toMatch(new RegExp(`Signing keys\\s+${kids[0]}, ${kids[1]} \\(newest last\\)`));
  }, T);

  it('a second rotation: pinned again, and the running agents still never left full', async () => {
    const r = await keysCli(['rotate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    kids.push(JSON.parse(r.stdout).kid);
    await restart();
    await waitPinned(online, kids);
    await waitPinned(guarded, kids);
    for (const a of [online, guarded]) expect(modesApplied(a)).toEqual(['full:ASSIGNED']);
  }, T);

  it('retire: the active key is refused; an old key leaves the published set but its chain link stays', async () => {
    const bad = await keysCli(['retire', kids[2]]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is the active signing key; rotate first.*\[CONFLICT\]/);
    const r = await keysCli(['retire', kids[0], '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kid: kids[0], state: 'retired', alreadyRetired: false });
    expect(JSON.parse((await keysCli(['list', '--json'])).stdout).map((k: any) => k.state)).toEqual(['retired', 'previous', 'active']);
    await restart();
    expect((await getJson('/.well-known/jwks.json')).keys.map((k: any) => k.kid)).toEqual(kids.slice(1));
    const set = await getJson('/.well-known/devlic-keys');
    expect(set.keys.keys.map((k: any) => k.kid)).toEqual(kids.slice(1));
    expect(set.chain).toHaveLength(2);
    // No private half of an old key is left on disk.
    const ring = JSON.parse(readFileSync(join(dataDir, 'signing-key.json'), 'utf8'));
    expect(ring.keys.map((k: any) => !!k.privateKey)).toEqual([false, false, true]);
  }, T);

  it('an agent away through both rotations catches up when it comes back; the retired key\'s token is not served', async () => {
    // Precondition: what the service has stored for it is still the token the retired key signed.
    const db = new Database(join(dataDir, 'devlic.db'), { readonly: true });
    const stored = db.prepare('SELECT token FROM device_entitlements WHERE device_id = ?').get(identityOf(away).deviceId) as { token: string };
    db.close();
    expect(tokenKid(stored.token)).toBe(kids[0]);
    expect(tokenKid(awayRow.token)).toBe(kids[0]);
    // Offline its cached token stays valid: the old key is still pinned.
    expect(await away.status()).toMatchObject({ mode: 'full', reason: 'ASSIGNED', pinnedKeys: [kids[0]], entitlement: { valid: true } });

    await away.start();
    await waitPinned(away, kids);
    const row = readRow(away);
    expect(row.seq).toBeGreaterThan(awayRow.seq);
    expect(events(away, 'keys')).toEqual([{ reason: 'KEY_PINNED', fields: { kids: [kids[1], kids[2]] } }]);
    expect(modesApplied(away)).toEqual(['full:ASSIGNED']);
    expect(away.appMode()).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
  }, T);

  it('a forged key set (a new key endorsed by a stranger and by the leaked old key) is refused; the device keeps its entitlement', async () => {
    const before = readRow(guarded);
    const pinsBefore = pinned(guarded);
    const evil = generateSigningKey();
    const stranger = generateSigningKey();
    const evilJwk = await publicJwk(evil.publicKey, evil.kid);
    const genuine = await getJson('/.well-known/devlic-keys');
    const now = Math.floor(Date.now() / 1000);
    proxy.keySet = {
      ...genuine,
      keys: { keys: [...genuine.keys.keys, evilJwk] },
      chain: [...genuine.chain, await signKeyLink(stranger, evilJwk, genuine.issuer, now), await signKeyLink(leaked, evilJwk, genuine.issuer, now)],
    };
    // Genuine in every claim (this device, higher seq) but signed by the new key; unlicensed, so taking it would show.
    const claims = { ...claimsOf(before.token), seq: before.seq + 1, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, productName: null, subscription: null, group: null } as any;
    proxy.mode = { kind: 'serve', token: await signEntitlement(evil, claims), seq: claims.seq };
    try {
      // Until the agent has judged the forged token, one way or the other (a wrongly accepted key shows as a pin).
      await waitFor('the forged token judged', () => (events(guarded, 'key-rejected').length > 0 && events(guarded, 'token-rejected').length > 0)
        || pinned(guarded).includes(evil.kid), 60_000, 100);
      expect(pinned(guarded)).toEqual(pinsBefore);
      expect(events(guarded, 'key-rejected')[0]).toMatchObject({ reason: 'NOT_ENDORSED', fields: { kid: evil.kid } });
      expect(events(guarded, 'key-rejected')[0].fields.message).toMatch(`signing key ${evil.kid} is not endorsed by a chain from a key this device trusts (newest trusted: ${kids[2]})`);
      expect(events(guarded, 'token-rejected')[0]).toMatchObject({ reason: 'TOKEN_INVALID', fields: { seq: claims.seq } });
      await waitFor('the refusal in the daemon log', () => guarded.output.includes(`signing key ${evil.kid} refused, tokens it signed stay untrusted`), 30_000, 50);
      expect(pinned(guarded)).toEqual(pinsBefore);
      expect(readRow(guarded)).toEqual(before);
      expect(guarded.appMode()).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
      expect(await guarded.status()).toMatchObject({ mode: 'full', reason: 'ASSIGNED', pinnedKeys: kids, entitlement: { valid: true, seq: before.seq } });
      // doctor sees the service's claimed key is not endorsed, and names what is pinned.
      const doc = JSON.parse((await guarded.cli(['doctor', '--json'])).stdout);
      const check = doc.checks.find((c: any) => c.name === 'signing-keys');
      expect(check.status).toBe('fail');
      expect(check.message).toContain(`signing key ${evil.kid} is not endorsed`);
      expect(check.message).toContain(`pinned: ${kids.join(', ')}`);
      expect(modesApplied(guarded)).toEqual(['full:ASSIGNED']);
    } finally {
      proxy.keySet = undefined;
      proxy.mode = { kind: 'pass' };
    }
  }, T);

  it('doctor on an up-to-date device: the service signs with a pinned key', async () => {
    const doc = JSON.parse((await online.cli(['doctor', '--json'])).stdout);
    expect(doc.checks.find((c: any) => c.name === 'signing-keys')).toEqual({
      name: 'signing-keys', status: 'ok', message: `the service signs with pinned key ${kids[2]} (pinned: ${kids.join(', ')})`,
    });
  }, T);
});
