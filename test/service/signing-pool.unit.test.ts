// The signing pool on real worker threads (threads, not processes: allowed in
// the unit project): its tokens verify and are byte-for-byte the in-thread
// ones, a new key reaches the workers, errors and a killed worker reject only
// their own batch, stop() ends the threads, and a pool whose workers cannot
// start signs on the event loop instead, logged.
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { signingThreads, SigningPool } from '../../service/signing/pool.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { generateSigningKey, signEntitlement, verifyEntitlement, type SigningKey } from '../../shared/token.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import { silentLogger } from '../../shared/log.ts';
import { waitFor } from '../helpers/processes.ts';

const ISSUER = 'urn:devlic:server:test';
const NOW = 1_790_000_000;

function claims(n: number, from = 0): EntitlementClaims[] {
  return Array.from({ length: n }, (_, i) => ({
    iss: ISSUER, sub: `dev_${from + i}`, aud: ENTITLEMENT_AUDIENCE, iat: NOW, nbf: NOW - 300, exp: NOW + 86_400, seq: i + 1,
    status: i % 2 ? 'licensed' : 'unlicensed', reason: i % 2 ? 'ASSIGNED' : 'NOT_IN_LICENSED_GROUP',
    product: i % 2 ? 'M365_APPS_ENTERPRISE_DEVICE' : null, productName: i % 2 ? 'Microsoft 365 Apps – Gerät “ü”' : null,
    subscription: i % 2 ? `sub_${i}` : null, group: null, warnAt: NOW + 3_600, refreshAfter: NOW + 600,
  }) as EntitlementClaims);
}

const inThread = (key: SigningKey, cs: EntitlementClaims[]) => Promise.all(cs.map((c) => signEntitlement(key, c)));

/** A logger whose lines the test can read. */
function recordingLog() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
  return { log, lines };
}

let pools: SigningPool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((p) => p.stop()));
  pools = [];
});
async function start(opts: Partial<Parameters<typeof SigningPool.start>[0]> & { key: SigningKey }): Promise<SigningPool> {
  const p = await SigningPool.start({ log: silentLogger(), ...opts });
  pools.push(p);
  return p;
}

describe('SigningPool', () => {
  it('signs in worker threads exactly what signEntitlement makes, and every token verifies', async () => {
    const key = generateSigningKey();
    const pool = await start({ key, threads: 2 });
    expect(pool.threads).toBe(2);
    // Larger than one message: split over both workers and put back in order.
    const cs = claims(2_345);
    const tokens = await pool.signBatch(key, cs);
    expect(tokens).toEqual(await inThread(key, cs));
    for (const i of [0, 1, 1_000, 2_344]) {
      expect(await verifyEntitlement(tokens[i], { keys: new Map([[key.kid, key.publicKey]]), deviceId: `dev_${i}`, issuer: ISSUER, audience: ENTITLEMENT_AUDIENCE }))
        .toEqual(cs[i]);
    }
    expect(await pool.signBatch(key, [])).toEqual([]);
  });

  it('hands a new active key to the workers: later batches are signed with it, byte-for-byte', async () => {
    const first = generateSigningKey();
    const pool = await start({ key: first, threads: 1 });
    const before = await pool.signBatch(first, claims(3));
    const next = generateSigningKey();
    // Batches for both keys in flight at once: each gets the key it asked for.
    const [a, b] = await Promise.all([pool.signBatch(next, claims(3)), pool.signBatch(next, claims(2, 10))]);
    expect(before).toEqual(await inThread(first, claims(3)));
    expect(a).toEqual(await inThread(next, claims(3)));
    expect(b).toEqual(await inThread(next, claims(2, 10)));
    expect(a[0].split('.')[0]).not.toBe(before[0].split('.')[0]);
    // setKey directly, too.
    pool.setKey(first);
    expect(await pool.signBatch(first, claims(1))).toEqual(await inThread(first, claims(1)));
  });

  it('rejects a batch the workers cannot sign with a clear error, and keeps signing others', async () => {
    // An X25519 key cannot sign: the same failure signEntitlement would have.
    const x = generateKeyPairSync('x25519');
    const bad: SigningKey = { kid: 'x25519', privateKey: x.privateKey, publicKey: x.publicKey };
    const good = generateSigningKey();
    const pool = await start({ key: good, threads: 1 });
    await expect(pool.signBatch(bad, claims(2))).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/^signing entitlements failed: .+/) });
    await expect(inThread(bad, claims(1))).rejects.toThrow();
    expect(await pool.signBatch(good, claims(2))).toEqual(await inThread(good, claims(2)));
  });

  it('a worker killed mid-batch rejects that batch with a clear error and is replaced', async () => {
    const key = generateSigningKey();
    const { log, lines } = recordingLog();
    const pool = await start({ key, threads: 1, log });
    const [victim] = pool.workers();
    const pending = pool.signBatch(key, claims(1_000));
    await victim.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/the signing worker stopped \(exit code \d+\) before signing 1000 entitlements/) });
    expect(lines.some((l) => l.level === 50 && /signing worker thread stopped; starting another/.test(l.msg))).toBe(true);
    await waitFor('a replacement worker', () => pool.workers().length === 1 && pool.workers()[0] !== victim, 30_000, 20);
    expect(pool.threads).toBe(1);
    // The replacement has the key and signs.
    expect(await pool.signBatch(key, claims(5))).toEqual(await inThread(key, claims(5)));
  });

  it('stop() terminates the workers and refuses further batches', async () => {
    const key = generateSigningKey();
    const pool = await start({ key, threads: 2 });
    const workers = pool.workers();
    const exited = workers.map((w) => new Promise((r) => w.once('exit', r)));
    // Stopped under it: rejected, not left hanging (or signed, if the workers were that quick).
    const settled = pool.signBatch(key, claims(2_000)).then((t) => t.length, (e: { code: string }) => e.code);
    await pool.stop();
    await Promise.all(exited);
    expect(pool.workers()).toHaveLength(0);
    expect([2_000, 'INTERNAL']).toContain(await settled);
    await expect(pool.signBatch(key, claims(1))).rejects.toMatchObject({ code: 'INTERNAL', message: 'the signing pool is stopped' });
  });

  it('falls back to signing on the event loop, logged, when workers cannot start; threads 0 does so on purpose', async () => {
    const key = generateSigningKey();
    const { log, lines } = recordingLog();
    const broken = await start({ key, threads: 2, log, source: 'throw new Error("no threads here")' });
    expect(broken.threads).toBe(0);
    expect(lines.find((l) => l.level === 40)?.msg).toMatch(/could not start: signing entitlements on the event loop instead/);
    expect(await broken.signBatch(key, claims(4))).toEqual(await inThread(key, claims(4)));

    const off = await start({ key, threads: 0 });
    expect(off.threads).toBe(0);
    expect(off.workers()).toHaveLength(0);
    expect(await off.signBatch(key, claims(2))).toEqual(await inThread(key, claims(2)));
  });

  it('sizes itself from the cores, leaving the event loop one; DEVLIC_SIGNING_THREADS overrides, bad values are refused', () => {
    expect(signingThreads({})).toBeGreaterThanOrEqual(1);
    expect(signingThreads({ DEVLIC_SIGNING_THREADS: '0' })).toBe(0);
    expect(signingThreads({ DEVLIC_SIGNING_THREADS: '3' })).toBe(3);
    for (const bad of ['-1', '1.5', 'many', '1000']) {
      expect(() => signingThreads({ DEVLIC_SIGNING_THREADS: bad })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
