// Device takeover by re-enrollment, attacked against a real devlic-server
// process: an enroll token (even one for an unlicensed group) plus a device's
// hardware facts must never yield that device's id, seat or licence; only a
// proof signed by the device's current key keeps an id; a captured, expired,
// foreign or re-bound proof changes nothing; an admin's merge is the one way
// to give a lost-key device its old id back; readers never see raw hardware
// identifiers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, SignJWT } from 'jose';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';
import { keyFromJwk, publicJwk, signDeviceRequestToken } from '../../shared/token.ts';
import { ENROLL_PROOF_TYP, signEnrollProof, verifyMergeNotice } from '../../shared/device-proofs.ts';
import { DEVICE_AUTH_AUDIENCE, ENROLL_PROOF_AUDIENCE } from '../../shared/api.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
let svc: ServiceProcess;
let admin: AdminClient;
let reader: AdminClient;
let laptops: string; // enroll token for the licensed group
let lobby: string; // enroll token for an unlicensed group
let lobbyTokenId: string;

const nowS = () => Math.floor(Date.now() / 1000);
const groupNames = async (id: string) => (await admin.ok('GET', `/devices/${id}`)).groups.map((g: any) => g.name);
const seatsUsed = async () => (await admin.ok('GET', '/subscriptions/EA')).seatsUsed;
const usesLeft = async () => (await admin.ok('GET', '/enroll-tokens')).items.find((t: any) => t.id === lobbyTokenId).usesLeft;
const deviceCount = async () => (await admin.ok('GET', '/devices?limit=1000')).total;

async function licensedDevice(name: string): Promise<SimDevice> {
  const d = new SimDevice(svc.url, fakeFacts(name));
  expect((await d.enroll(laptops)).status).toBe(201);
  expect(claimsOf((await d.entitlement()).body.token)).toMatchObject({ status: 'licensed', sub: d.deviceId });
  return d;
}

beforeAll(async () => {
  svc = await startService({ config: { enrollPerMinute: 1000 } });
  admin = adminClient(svc.url, svc.adminToken);
  reader = adminClient(svc.url, (await admin.ok('POST', '/admins', { role: 'reader', name: 'auditor' })).token);
  await admin.ok('POST', '/groups', { name: 'Laptops' });
  await admin.ok('POST', '/groups', { name: 'Lobby' });
  await admin.ok('POST', '/subscriptions', { product: SKU, seats: 20, name: 'EA' });
  await admin.ok('POST', '/licenses/assign', { subscription: 'EA', group: 'Laptops' });
  laptops = (await admin.ok('POST', '/enroll-tokens', { uses: 100, group: 'Laptops' })).token;
  const t = await admin.ok('POST', '/enroll-tokens', { uses: 100, group: 'Lobby' });
  lobby = t.token;
  lobbyTokenId = t.id;
});
afterAll(async () => { await svc?.stop(); });

describe('an attacker with an enroll token and the victim\'s hardware facts', () => {
  it('gets a new, unlicensed device; the victim keeps its id, seat, groups and working key', async () => {
    const victim = await licensedDevice('victim-01');
    const victimAuth = await victim.authHeader(); // a request token the victim already uses
    const seats = await seatsUsed();

    const attacker = new SimDevice(svc.url, { ...victim.facts });
    const r = await attacker.enroll(lobby);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ reenrolled: false, duplicateOf: victim.deviceId });
    expect(attacker.deviceId).not.toBe(victim.deviceId);
    const got = claimsOf((await attacker.entitlement()).body.token);
    expect(got).toMatchObject({ sub: attacker.deviceId, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' });

    // The victim: same request token still authenticates, still licensed, groups and seat count unchanged.
    const v = await victim.entitlement({ authorization: victimAuth });
    expect(v.status).toBe(200);
    expect(claimsOf(v.body.token)).toMatchObject({ sub: victim.deviceId, status: 'licensed' });
    expect(await groupNames(victim.deviceId)).toEqual(['Laptops']);
    expect(await groupNames(attacker.deviceId)).toEqual(['Lobby']);
    expect(await seatsUsed()).toBe(seats);
    // Nor can the attacker speak as the victim with its own key.
    const forged = await signDeviceRequestToken(attacker.privateKey, victim.deviceId, DEVICE_AUTH_AUDIENCE, nowS());
    expect((await victim.entitlement({ authorization: `DevlicDevice ${forged}` })).status).toBe(401);

    const view = await admin.ok('GET', `/devices/${attacker.deviceId}`);
    expect(view.duplicateOf).toEqual({ id: victim.deviceId, name: 'victim-01' });
    const audit = (await admin.ok('GET', '/audit?limit=50')).items.find((e: any) => e.target === attacker.deviceId);
    expect(audit).toMatchObject({ action: 'device.enroll-duplicate', details: { duplicateOf: victim.deviceId } });
  });

  it('a second duplicate points at the original device too, and the licensed-group token gives only a seat of its own', async () => {
    const victim = await licensedDevice('victim-02');
    const first = new SimDevice(svc.url, { ...victim.facts });
    await first.enroll(lobby);
    const seats = await seatsUsed();
    const second = new SimDevice(svc.url, { ...victim.facts });
    expect((await second.enroll(laptops)).body).toMatchObject({ reenrolled: false, duplicateOf: victim.deviceId });
    expect(claimsOf((await second.entitlement()).body.token)).toMatchObject({ sub: second.deviceId, status: 'licensed' });
    expect(await seatsUsed()).toBe(seats + 1);
    expect((await victim.entitlement()).status).toBe(200);
  });
});

describe('enroll proofs', () => {
  it('a proof signed by the current key keeps the id, groups and seat; the old key stops working', async () => {
    const dev = await licensedDevice('proven-01');
    const seats = await seatsUsed();
    const next = new SimDevice(svc.url, { ...dev.facts, hostname: 'proven-01-renamed' });
    const proof = await signEnrollProof(dev.privateKey, dev.deviceId, await publicJwk(next.publicKey), nowS());
    const r = await next.enroll(laptops, { proof });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ deviceId: dev.deviceId, reenrolled: true, duplicateOf: null });
    expect(claimsOf((await next.entitlement()).body.token)).toMatchObject({ sub: dev.deviceId, status: 'licensed' });
    expect((await dev.entitlement()).status).toBe(401);
    expect(await seatsUsed()).toBe(seats);
    expect(await groupNames(dev.deviceId)).toEqual(['Laptops']);
    expect((await admin.ok('GET', `/devices/${dev.deviceId}`)).name).toBe('proven-01-renamed');
    const audit = (await admin.ok('GET', '/audit?limit=50')).items.find((e: any) => e.target === dev.deviceId && e.action === 'device.reenroll');
    expect(audit).toBeDefined();
  });

  it('refuses foreign-key, expired, future, re-bound, replayed, mistyped and unknown-device proofs, changing nothing', async () => {
    const dev = await licensedDevice('proven-02');
    const devAuth = await dev.authHeader();
    const devices = await deviceCount();
    const uses = await usesLeft();
    const attacker = new SimDevice(svc.url, { ...dev.facts });
    const attackerJwk = await publicJwk(attacker.publicKey);
    const refused = async (proof: string, who = attacker) => {
      const r = await who.enroll(lobby, { proof });
      expect(r.status, JSON.stringify(r.body)).toBe(401);
      expect(r.body.error.code).toBe('ENROLL_PROOF_INVALID');
      return r.body.error.message as string;
    };

    // Signed by a key that is not the device's.
    expect(await refused(await signEnrollProof(attacker.privateKey, dev.deviceId, attackerJwk, nowS()))).toMatch(/signature/);
    // The device's key, but outside the window (or stamped far ahead so it would live long).
    expect(await refused(await signEnrollProof(dev.privateKey, dev.deviceId, attackerJwk, nowS() - 600))).toMatch(/exp/);
    expect(await refused(await signEnrollProof(dev.privateKey, dev.deviceId, attackerJwk, nowS() + 3600))).toMatch(/future|nbf|iat/);
    // A genuine proof for another key cannot bind the attacker's key.
    const other = generateKeyPairSync('ed25519');
    const forOther = await signEnrollProof(dev.privateKey, dev.deviceId, await publicJwk(other.publicKey), nowS());
    expect(await refused(forOther)).toMatch(/another public key/);
    // A request token (another typ and audience) is no proof.
    expect(await refused(await signDeviceRequestToken(dev.privateKey, dev.deviceId, DEVICE_AUTH_AUDIENCE, nowS()))).toMatch(/typ|aud/);
    // Right typ and audience but a lifetime far beyond the proof window.
    const longLived = await new SignJWT({ cnf: { jkt: 'x' } }).setProtectedHeader({ alg: 'EdDSA', typ: ENROLL_PROOF_TYP })
      .setSubject(dev.deviceId).setAudience(ENROLL_PROOF_AUDIENCE).setIssuedAt(nowS()).setExpirationTime(nowS() + 86400).setJti('j').sign(dev.privateKey);
    expect(await refused(longLived)).toMatch(/window/);
    // A device this service does not know.
    expect(await refused(await signEnrollProof(dev.privateKey, 'dev_doesnotexist00000', attackerJwk, nowS()))).toMatch(/no device/);

    // Nothing changed: no device, no token use, the device's key still works.
    expect(await deviceCount()).toBe(devices);
    expect(await usesLeft()).toBe(uses);
    expect((await dev.entitlement({ authorization: devAuth })).status).toBe(200);

    // The device uses a proof; the same proof replayed (same key or another) is dead: it was signed by the replaced key.
    const next = new SimDevice(svc.url, dev.facts);
    const proof = await signEnrollProof(dev.privateKey, dev.deviceId, await publicJwk(next.publicKey), nowS());
    expect((await next.enroll(lobby, { proof })).body).toMatchObject({ deviceId: dev.deviceId, reenrolled: true });
    const nextAuth = await next.authHeader();
    const replay = new SimDevice(svc.url, dev.facts);
    replay.publicKey = next.publicKey;
    expect(await refused(proof, replay)).toMatch(/signature/);
    expect(await refused(proof)).toMatch(/signature|another public key/);
    expect((await next.entitlement({ authorization: nextAuth })).status).toBe(200);
  });

  it('judges the enroll token before the proof', async () => {
    const dev = await licensedDevice('proven-03');
    const r = await new SimDevice(svc.url, dev.facts).enroll('dle_notarealtoken', { proof: await signEnrollProof(dev.privateKey, 'dev_x0000', await publicJwk(dev.publicKey), nowS()) });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('ENROLL_TOKEN_INVALID');
  });
});

describe('devlic-admin devices merge (a lost key)', () => {
  it('gives the old id the new record\'s key, retires the new id with a signed notice, and is refused to readers', async () => {
    const old = await licensedDevice('reinstalled-01');
    const oldAuth = await old.authHeader();
    expect(await old.report({ mode: 'full', reason: 'ASSIGNED', users: [], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: 1 })).toBe(204);
    const seats = await seatsUsed();
    const fresh = new SimDevice(svc.url, { ...old.facts });
    expect((await fresh.enroll(lobby)).body.duplicateOf).toBe(old.deviceId);
    const freshFirst = await fresh.entitlement();
    expect(claimsOf(freshFirst.body.token).status).toBe('unlicensed');

    // A reader may look but not merge.
    const denied = await reader.post(`/devices/${old.deviceId}/merge`, { from: fresh.deviceId });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    expect((await fresh.entitlement()).status).toBe(200);
    expect((await old.entitlement({ authorization: oldAuth })).status).toBe(200);

    // The new device's agent is holding a long-poll when the merge happens.
    const held = fresh.entitlement({ etag: freshFirst.etag!, wait: 60 });
    await new Promise((r) => setTimeout(r, 200));
    const m = await admin.post(`/devices/${old.deviceId}/merge`, { from: fresh.deviceId });
    expect(m.status, JSON.stringify(m.body)).toBe(200);
    expect(m.body).toMatchObject({ id: old.deviceId, retired: fresh.deviceId, device: { id: old.deviceId, groups: [{ name: 'Laptops' }], licensed: true } });

    const jwks = await (await fetch(`${svc.url}/.well-known/jwks.json`)).json() as any;
    const keys = new Map(jwks.keys.map((k: any) => [k.kid, keyFromJwk(k)]));
    for (const answer of [await held, await fresh.entitlement()]) {
      expect(answer.status).toBe(401);
      expect(answer.body.error).toMatchObject({ code: 'DEVICE_MERGED', details: { deviceId: old.deviceId } });
      const notice = await verifyMergeNotice(answer.body.error.details.notice, { keys: keys as any, issuer: fresh.enrollment!.issuer, deviceId: fresh.deviceId });
      expect(notice.mergedInto).toBe(old.deviceId);
    }
    // The old key (even its already-verified request token) is dead; the new key speaks as the old id.
    expect((await old.entitlement({ authorization: oldAuth })).status).toBe(401);
    const moved = new SimDevice(svc.url, old.facts);
    moved.privateKey = fresh.privateKey;
    moved.deviceId = old.deviceId;
    const e = await moved.entitlement();
    expect(e.status).toBe(200);
    expect(claimsOf(e.body.token)).toMatchObject({ sub: old.deviceId, status: 'licensed' });
    expect(await seatsUsed()).toBe(seats);
    expect(await groupNames(old.deviceId)).toEqual(['Laptops']);
    expect((await admin.get(`/devices/${fresh.deviceId}`)).status).toBe(404);
    const detail = await admin.ok('GET', `/devices/${old.deviceId}`);
    expect(detail.reports.length).toBeGreaterThanOrEqual(1);
    expect(detail.duplicateOf).toBeNull();
    const audit = (await admin.ok('GET', '/audit?limit=50')).items.find((x: any) => x.action === 'device.merge');
    expect(audit).toMatchObject({ target: old.deviceId, details: { retired: fresh.deviceId, wasDuplicateOf: old.deviceId } });

    // The retired id learns nothing when asked with a key the survivor does not hold.
    const stranger = await signDeviceRequestToken(old.privateKey, fresh.deviceId, DEVICE_AUTH_AUDIENCE, nowS());
    const s = await fresh.entitlement({ authorization: `DevlicDevice ${stranger}` });
    expect(s.status).toBe(401);
    expect(s.body.error.code).toBe('UNAUTHENTICATED');
    expect(s.body.error.details).toBeUndefined();

    // The merged agent may still prove itself under its retired id: the survivor keeps its id.
    const again = new SimDevice(svc.url, old.facts);
    const proof = await signEnrollProof(fresh.privateKey, fresh.deviceId, await publicJwk(again.publicKey), nowS());
    expect((await again.enroll(lobby, { proof })).body).toMatchObject({ deviceId: old.deviceId, reenrolled: true });
  });

  it('refuses to merge into a device whose own agent reported after the new record enrolled, unless forced', async () => {
    const alive = await licensedDevice('alive-01');
    const aliveAuth = await alive.authHeader();
    const claimant = new SimDevice(svc.url, { ...alive.facts });
    await claimant.enroll(lobby);
    // The "reinstalled" machine's agent is still running with its own key and reports.
    await new Promise((r) => setTimeout(r, 5));
    expect(await alive.report({ mode: 'full', reason: 'ASSIGNED', users: [], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: 1 })).toBe(204);
    const r = await admin.post(`/devices/${alive.deviceId}/merge`, { from: claimant.deviceId });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'CONFLICT' });
    expect(r.body.error.message).toMatch(/still runs with its own key/);
    expect((await alive.entitlement({ authorization: aliveAuth })).status).toBe(200);
    expect((await claimant.entitlement()).status).toBe(200);
    const forced = await admin.post(`/devices/${alive.deviceId}/merge`, { from: claimant.deviceId, force: true });
    expect(forced.status).toBe(200);
    expect((await alive.entitlement({ authorization: aliveAuth })).status).toBe(401);
    const audit = (await admin.ok('GET', '/audit?limit=20')).items.find((x: any) => x.action === 'device.merge' && x.target === alive.deviceId);
    expect(audit.details).toMatchObject({ retired: claimant.deviceId, force: true });
  });

  it('refuses a merge into itself or with an unknown device, changing nothing', async () => {
    const d = await licensedDevice('merge-self');
    const self = await admin.post(`/devices/${d.deviceId}/merge`, { from: d.deviceId });
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe('BAD_REQUEST');
    const unknown = await admin.post(`/devices/${d.deviceId}/merge`, { from: 'dev_nosuchdevice' });
    expect(unknown.status).toBe(404);
    const extra = await admin.post(`/devices/${d.deviceId}/merge`, { from: d.deviceId, also: 'x' });
    expect(extra.status).toBe(400);
    expect((await d.entitlement()).status).toBe(200);
  });
});

describe('hardware identifiers in the admin API', () => {
  it('readers see short hashes, global-admins the raw values', async () => {
    const d = await licensedDevice('private-01');
    const short = (v: string) => `sha256:${createHash('sha256').update(v).digest('hex').slice(0, 12)}`;
    const asReader = await reader.ok('GET', `/devices/${d.deviceId}`);
    expect(asReader.facts).toEqual({
      ...d.facts, machineIdHash: short(d.facts.machineIdHash), hardwareUuid: short(d.facts.hardwareUuid), serial: short(d.facts.serial), redacted: true,
    });
    const asAdmin = await admin.ok('GET', `/devices/${d.deviceId}`);
    expect(asAdmin.facts).toEqual({ ...d.facts, redacted: false });
    // No reader answer carries the raw identifiers anywhere.
    for (const path of ['/devices?limit=1000', `/devices/${d.deviceId}`, '/audit?limit=1000']) {
      const text = JSON.stringify((await reader.get(path)).body);
      for (const raw of [d.facts.machineIdHash, d.facts.hardwareUuid, d.facts.serial]) expect(text).not.toContain(raw);
    }
  });
});

// The JWKS helper is only used to prove the notice verifies with a standard JOSE key set too.
it('the merge notice is a standard JWS the published JWKS verifies', async () => {
  const old = await licensedDevice('jwks-01');
  const fresh = new SimDevice(svc.url, { ...old.facts });
  await fresh.enroll(lobby);
  await admin.ok('POST', `/devices/${old.deviceId}/merge`, { from: fresh.deviceId });
  const r = await fresh.entitlement();
  const jwks = await (await fetch(`${svc.url}/.well-known/jwks.json`)).json() as any;
  const { jwtVerify } = await import('jose');
  const { payload, protectedHeader } = await jwtVerify(r.body.error.details.notice, createLocalJWKSet(jwks));
  expect(protectedHeader.typ).toBe('devlic-device-merged+jwt');
  expect(payload).toMatchObject({ sub: fresh.deviceId, mergedInto: old.deviceId });
});
