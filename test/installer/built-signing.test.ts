// The built devlic-server signs entitlements in a worker thread even though a
// single executable cannot load a worker from a file: the thread is there
// (named devlic-signing), the service says so, and real devices get tokens
// that verify against the published keys and are byte-for-byte what
// signEntitlement makes with the keyring's private key. With
// DEVLIC_SIGNING_THREADS=0 the same executable signs on its event loop; a bad
// value stops it before it creates anything.
// Skips loudly when dist/ is not built (npm run build).
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';
import { claimsOf, fakeFacts, SimDevice } from '../helpers/sim-device.ts';
import { keyFromJwk, signEntitlement, verifyEntitlement } from '../../shared/token.ts';
import { builtMissing, DIST, skipLoudly } from './helpers.ts';

const missing = builtMissing('devlic-server', 'better_sqlite3.node');
const skip = skipLoudly('the built devlic-server signing tests', missing);
const EXE = join(DIST, 'devlic-server');

async function serve(dataDir: string, env: Record<string, string>) {
  const port = await freePort();
  const proc = spawn(EXE, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`built server (${out})`, async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, 30_000, 50);
  return { url, proc, exit, output: () => out };
}

const threadNames = (pid: number) => readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());

/** Enrolls devices into a licensed group and returns each one's entitlement token. */
async function licensedTokens(url: string, dataDir: string, n: number): Promise<Array<{ id: string; token: string }>> {
  const admin = adminClient(url, readFileSync(join(dataDir, 'admin-token'), 'utf8').trim());
  const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: n, name: 'EA' });
  const group = await admin.ok('POST', '/groups', { name: 'Laptops' });
  await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: group.id });
  const enroll = (await admin.ok('POST', '/enroll-tokens', { uses: n, group: 'Laptops' })).token;
  const devices = Array.from({ length: n }, (_, i) => new SimDevice(url, fakeFacts(`laptop-${i}`)));
  for (const d of devices) expect((await d.enroll(enroll)).status).toBe(201);
  // Asked together: one batch for the pool.
  const answers = await Promise.all(devices.map((d) => d.entitlement()));
  return answers.map((a, i) => {
    expect(a.status).toBe(200);
    return { id: devices[i].deviceId, token: a.body.token as string };
  });
}

async function expectGenuine(url: string, dataDir: string, tokens: Array<{ id: string; token: string }>) {
  const ring = JSON.parse(readFileSync(join(dataDir, 'signing-key.json'), 'utf8'));
  const active = ring.keys.at(-1);
  const privateKey = createPrivateKey(active.privateKey);
  const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json() as { keys: Array<{ kid: string; x: string }> };
  const keys = new Map(jwks.keys.map((k) => [k.kid, keyFromJwk(k as never)]));
  for (const { id, token } of tokens) {
    expect(await verifyEntitlement(token, { keys, deviceId: id, issuer: ring.issuer })).toMatchObject({ sub: id, status: 'licensed' });
    // Ed25519 is deterministic: the service's token is exactly the in-thread signature of its claims.
    expect(await signEntitlement({ kid: active.kid, privateKey, publicKey: createPublicKey(privateKey) }, claimsOf(token))).toBe(token);
  }
}

describe.skipIf(skip)('built devlic-server signing', () => {
  it('signs in a worker thread inside the single executable, tokens byte-for-byte genuine', async () => {
    const dataDir = join(tempDir('built-sign'), 'data');
    const s = await serve(dataDir, {});
    try {
      expect(s.output()).toMatch(/"threads":\d+,"msg":"signing entitlements in worker threads"/);
      expect(threadNames(s.proc.pid!)).toContain('devlic-signing');
      const tokens = await licensedTokens(s.url, dataDir, 6);
      await expectGenuine(s.url, dataDir, tokens);
      expect(s.output()).not.toMatch(/signing worker|on the event loop/i);
    } finally {
      s.proc.kill('SIGTERM');
    }
    expect(await s.exit).toBe(0);
  });

  it('DEVLIC_SIGNING_THREADS=0 signs on the event loop (the benchmark baseline), same tokens', async () => {
    const dataDir = join(tempDir('built-sign0'), 'data');
    const s = await serve(dataDir, { DEVLIC_SIGNING_THREADS: '0' });
    try {
      expect(s.output()).toMatch(/signing entitlements on the event loop \(DEVLIC_SIGNING_THREADS=0\)/);
      expect(threadNames(s.proc.pid!)).not.toContain('devlic-signing');
      await expectGenuine(s.url, dataDir, await licensedTokens(s.url, dataDir, 2));
    } finally {
      s.proc.kill('SIGTERM');
    }
    expect(await s.exit).toBe(0);
  });

  it('refuses a bad DEVLIC_SIGNING_THREADS before creating anything', async () => {
    const dataDir = join(tempDir('built-sign-bad'), 'data');
    const proc = spawn(EXE, ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], { env: { DEVLIC_SIGNING_THREADS: 'lots' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    expect(await new Promise((r) => proc.once('exit', r))).toBe(1);
    expect(err).toMatch(/DEVLIC_SIGNING_THREADS must be a whole number from 0 to 256 \(got 'lots'\) \[CONFIG_INVALID\]/);
    expect(existsSync(dataDir)).toBe(false);
  });
});
