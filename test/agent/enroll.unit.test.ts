// Enrollment against a scripted service: Retry-After on 429 is honoured, a
// refused token changes nothing on disk (a working device stays working),
// the stored hardware identity is sent again on re-enrollment with a proof
// signed by the key the device had, re-signed once with the service's time
// when refused, and dropped (a new device) when refused again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { enroll } from '../../agent/sync/enroll.ts';
import { defaults } from '../../agent/config.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger } from '../../shared/log.ts';
import { generateSigningKey, publicJwk } from '../../shared/token.ts';
import type { RawIdentity } from '../../agent/host/identity.ts';
import { tempDir } from '../helpers/processes.ts';
import { verifyEnrollProof } from '../../shared/device-proofs.ts';

let server: Server;
let url = '';
let script: { status: number; headers?: Record<string, string>; body: unknown }[] = [];
const seen: any[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    seen.push(JSON.parse(body));
    const next = script.shift() ?? { status: 500, body: { error: { code: 'INTERNAL', message: 'script ran out' } } };
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
    res.end(JSON.stringify(next.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const raw = (over: Partial<RawIdentity> = {}): RawIdentity => ({
  machineId: 'aabbccddeeff00112233', manufacturer: 'X', model: 'Y', serial: 'Z', hardwareUuid: '', os: 'Linux', hostname: 'h1', ...over,
});

async function okAnswer(deviceId: string, reenrolled = false) {
  const k = generateSigningKey();
  return { status: 201, body: { deviceId, issuer: 'devlic-test', audience: 'devlic-agent', keys: { keys: [await publicJwk(k.publicKey, k.kid)] }, reenrolled } };
}

function opts(dataDir: string, over: Partial<Parameters<typeof enroll>[0]> = {}) {
  return {
    cfg: { ...defaults(), dataDir }, server: url, token: 'dle_abcdefghijkl', allowInsecureHttp: false,
    clock: systemClock, log: silentLogger(), identitySource: async () => raw(), ...over,
  };
}

describe('enroll', () => {
  it('waits as Retry-After says when rate-limited, then stores key and identity privately', async () => {
    const dataDir = join(tempDir('enroll'), 'data');
    const waits: number[] = [];
    script = [
      { status: 429, headers: { 'retry-after': '2' }, body: { error: { code: 'RATE_LIMITED', message: 'slow down' } } },
      { status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'RATE_LIMITED', message: 'slow down' } } },
      await okAnswer('dev_one'),
    ];
    const r = await enroll(opts(dataDir, { sleep: async (ms) => { waits.push(ms); } }));
    expect(waits[0]).toBeGreaterThanOrEqual(2000);
    expect(waits[1]).toBeGreaterThanOrEqual(1000);
    expect(r.identity.deviceId).toBe('dev_one');
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'device-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'identity.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, 'device-key.pem'), 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    // The request carried a public key only, and well-formed facts.
    const req = seen.at(-1);
    expect(req.publicKey).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(req.publicKey.d).toBeUndefined();
    expect(req.facts.machineIdHash).toMatch(/^[a-f0-9]{64}$/);
  });

  it('gives up on a long Retry-After instead of hanging', async () => {
    const dataDir = join(tempDir('enroll'), 'data');
    script = [{ status: 429, headers: { 'retry-after': '3600' }, body: { error: { code: 'RATE_LIMITED', message: 'later' } } }];
    await expect(enroll(opts(dataDir, { sleep: async () => { throw new Error('must not wait an hour'); } }))).rejects.toThrow(/rate-limiting/);
  });

  it('a refused token changes nothing, and re-enrollment sends the stored hardware identity', async () => {
    const dataDir = join(tempDir('enroll'), 'data');
    script = [await okAnswer('dev_keep')];
    await enroll(opts(dataDir));
    const identityBefore = readFileSync(join(dataDir, 'identity.json'), 'utf8');
    const keyBefore = readFileSync(join(dataDir, 'device-key.pem'), 'utf8');
    const firstFacts = seen.at(-1).facts;

    script = [{ status: 401, body: { error: { code: 'ENROLL_TOKEN_INVALID', message: 'used up' } } }];
    await expect(enroll(opts(dataDir))).rejects.toThrow(/refused the enroll token/);
    expect(readFileSync(join(dataDir, 'identity.json'), 'utf8')).toBe(identityBefore);
    expect(readFileSync(join(dataDir, 'device-key.pem'), 'utf8')).toBe(keyBefore);

    // The machine id source changed meanwhile (e.g. regenerated): the stored identity still wins.
    script = [await okAnswer('dev_keep', true)];
    const r = await enroll(opts(dataDir, { identitySource: async () => raw({ machineId: '99999999aaaaaaaa', hostname: 'renamed' }) }));
    const facts = seen.at(-1).facts;
    expect(facts.machineIdHash).toBe(firstFacts.machineIdHash);
    expect(facts.hostname).toBe('renamed');
    expect(r.identity.reenrolled).toBe(true);
    expect(readFileSync(join(dataDir, 'device-key.pem'), 'utf8')).not.toBe(keyBefore);
    // It proved which device it is with the key it had, for the key it sent.
    const sent = seen.at(-1);
    await expect(verifyEnrollProof(sent.proof, {
      currentKey: createPublicKey(createPrivateKey(keyBefore)), deviceId: 'dev_keep', newPublicKey: sent.publicKey, nowSeconds: Math.floor(Date.now() / 1000),
    })).resolves.toBeUndefined();
  });

  it('re-signs a refused proof once with the service\'s time, then enrolls as a new device', async () => {
    const dataDir = join(tempDir('enroll'), 'data');
    script = [await okAnswer('dev_first')];
    await enroll(opts(dataDir));
    const firstKey = createPublicKey(createPrivateKey(readFileSync(join(dataDir, 'device-key.pem'))));
    const proofRefused = (date: string) => ({ status: 401, headers: { date }, body: { error: { code: 'ENROLL_PROOF_INVALID', message: 'enroll proof rejected: "exp" claim timestamp check failed' } } });
    // This device's clock is two hours behind the service's.
    const serviceNow = Date.now();
    const clock = { now: () => Date.now() - 2 * 3600_000, fake: true };
    script = [proofRefused(new Date(serviceNow).toUTCString()), await okAnswer('dev_first', true)];
    seen.length = 0;
    const r = await enroll(opts(dataDir, { clock }));
    expect(r).toMatchObject({ proofRefused: null, identity: { deviceId: 'dev_first', reenrolled: true } });
    const [late, onTime] = seen.map((q) => JSON.parse(Buffer.from(q.proof.split('.')[1], 'base64url').toString()));
    expect(Math.abs(late.iat * 1000 - (serviceNow - 2 * 3600_000))).toBeLessThan(60_000);
    expect(Math.abs(onTime.iat * 1000 - serviceNow)).toBeLessThan(60_000);
    await verifyEnrollProof(seen[1].proof, { currentKey: firstKey, deviceId: 'dev_first', newPublicKey: seen[1].publicKey, nowSeconds: Math.floor(serviceNow / 1000) });

    // Refused again with the service's time (the service no longer has this key for the device): a new device, said so.
    const now = new Date().toUTCString();
    script = [proofRefused(now), { ...await okAnswer('dev_second'), body: { ...(await okAnswer('dev_second')).body, duplicateOf: 'dev_first' } }];
    seen.length = 0;
    const r2 = await enroll(opts(dataDir));
    expect(r2).toMatchObject({ duplicateOf: 'dev_first', previousDeviceId: 'dev_first', identity: { deviceId: 'dev_second', reenrolled: false } });
    expect(r2.proofRefused).toMatch(/exp/);
    expect(seen).toHaveLength(2);
    expect(seen[0].proof).toBeDefined();
    expect(seen[1].proof).toBeUndefined();
    expect(seen[1].facts.machineIdHash).toBe(seen[0].facts.machineIdHash);
  });

  it('sends no proof to another service, nor without a readable key', async () => {
    const dataDir = join(tempDir('enroll'), 'data');
    script = [await okAnswer('dev_a')];
    await enroll(opts(dataDir));
    script = [await okAnswer('dev_b')];
    seen.length = 0;
    await enroll(opts(dataDir, { server: url.replace('127.0.0.1', 'localhost') }));
    expect(seen[0].proof).toBeUndefined();
    rmSync(join(dataDir, 'device-key.pem'));
    script = [await okAnswer('dev_c')];
    seen.length = 0;
    await enroll(opts(dataDir, { server: url.replace('127.0.0.1', 'localhost') }));
    expect(seen[0].proof).toBeUndefined();
  });

  it('refuses an answer that does not follow the protocol', async () => {
    const dataDir = join(tempDir('enroll'), 'data');
    script = [{ status: 201, body: { deviceId: 'dev_x' } }];
    await expect(enroll(opts(dataDir))).rejects.toThrow(/does not match the protocol/);
  });
});
