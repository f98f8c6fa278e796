// evaluateUsers (agent/decision/evaluate-users.ts) on a real agent database
// with real signed tokens: each cached user token is re-verified on every
// decision, so a token edited into agent.db, one for another person or
// device, one signed by an unknown key, a device token in its place, or an
// older one below the person's watermark never makes anyone full.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { evaluateUsers, signInNames } from '../../agent/decision/evaluate-users.ts';
import { decide, type Decision } from '../../agent/decision/decide.ts';
import { generateSigningKey, publicJwk, signEntitlement } from '../../shared/token.ts';
import { signUserEntitlement } from '../../shared/user-token.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import type { UserEntitlementClaims } from '../../shared/schemas/user.ts';
import type { StoredIdentity, UserWatermarks } from '../../agent/store/files.ts';
import { tempDir } from '../helpers/processes.ts';
import { formatStatus, type AgentStatus } from '../../agent/report/status.ts';

const ISSUER = 'https://licensing.example.test';
const NOW_MS = Date.parse('2030-01-01T00:00:00Z');
const NOW = NOW_MS / 1000;
const key = generateSigningKey();
const stranger = generateSigningKey();

function claims(over: Partial<UserEntitlementClaims> = {}): UserEntitlementClaims {
  return {
    iss: ISSUER, sub: 'dev_1', aud: ENTITLEMENT_AUDIENCE, iat: NOW, nbf: NOW - 300, exp: NOW + 90 * 86400, seq: 7,
    status: 'licensed', reason: 'ASSIGNED', product: 'M365_APPS_ENTERPRISE_USER', productName: 'M365 Apps (user)',
    subscription: 'sub_1', group: 'ugr_1', warnAt: NOW + 80 * 86400, refreshAfter: NOW + 86400, user: 'alice', ...over,
  };
}

/** A status with one signed-in user, for the text `devlic-agent status` prints. */
function statusWith(user: AgentStatus['users'][number]): AgentStatus {
  return {
    deviceId: 'dev_1', enrolled: true, server: null, mode: 'full', reason: 'ASSIGNED', warning: null, detail: null, facts: null, enrolledAt: null,
    revoked: null, pinnedKeys: [],
    entitlement: { status: 'unlicensed', product: null, productName: null, subscription: null, group: null, seq: 7, issuedAt: null,
      expiresAt: null, warnAt: null, refreshAfter: null, valid: true, error: null },
    lastSync: { at: null, ok: null, error: null }, lastSuccessfulSync: null, nextSync: null,
    clock: { now: '2030-01-01T00:00:00.000Z', effectiveNow: null, trustedHighWater: null, observedHighWater: null, observedReason: null, testHook: false },
    users: [user], machine: { mode: 'full', reason: 'ASSIGNED' }, enforcers: [], applied: null, lastDrift: null, database: { ok: true, error: null, hint: null },
    daemon: { running: false, pid: null }, agentVersion: '0.1.0', dataDir: '/var/lib/devlic',
  };
}

async function setup() {
  const store = new Store(openDb(join(tempDir('evu'), 'agent.db')));
  const identity = { deviceId: 'dev_1', issuer: ISSUER, keys: { keys: [await publicJwk(key.publicKey, key.kid)] } } as unknown as StoredIdentity;
  // An unlicensed device: only a user licence can make anyone full.
  const device: Decision = decide({
    enrolled: true, revoked: false, minSeq: 0, nowMs: NOW_MS, clock: { highWaterMs: null, sync: { serverMs: NOW_MS, localMs: NOW_MS }, observed: null },
    entitlement: { kind: 'valid', claims: { ...claims({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' }) } },
  });
  store.recordTrustedTime(NOW_MS, NOW_MS);
  const run = (userWatermarks: UserWatermarks | null = null, users = ['alice']) => evaluateUsers({
    identity, store, device, watermark: null, userWatermarks, users, nowMs: NOW_MS + 1000, online: () => true,
  });
  const put = (token: string, seq = 7, user = 'alice') => store.putUserEntitlement({ user, deviceId: 'dev_1', seq, token, receivedAt: NOW_MS });
  return { store, device, run, put };
}

describe('evaluateUsers', () => {
  it('makes a person full by a valid user token, and only them', async () => {
    const { run, put } = await setup();
    put(await signUserEntitlement(key, claims()));
    const [alice, bob] = await run(null, ['alice', 'bob']);
    expect(alice).toMatchObject({ user: 'alice', mode: 'full', licence: 'user', reason: 'ASSIGNED' });
    expect(bob).toMatchObject({ user: 'bob', mode: 'read-only', licence: null, firstSignIn: 'pending' });
  });

  const refused: [string, () => Promise<string>, string][] = [
    ['signed by an unknown key', () => signUserEntitlement(stranger, claims()), 'TOKEN_INVALID'],
    ['for another person', () => signUserEntitlement(key, claims({ user: 'bob' })), 'TOKEN_INVALID'],
    ['for another device', () => signUserEntitlement(key, claims({ sub: 'dev_2' })), 'TOKEN_OTHER_DEVICE'],
    ['a device token in its place', () => signEntitlement(key, claims()), 'TOKEN_INVALID'],
    ['edited after signing', async () => {
      const [h, , sig] = (await signUserEntitlement(key, claims({ status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' }))).split('.');
      return `${h}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.${sig}`;
    }, 'TOKEN_INVALID'],
  ];
  it.each(refused)('refuses a cached token %s: read-only with %s', async (_name, token, reason) => {
    const { run, put } = await setup();
    put(await token());
    const [alice] = await run();
    expect(alice).toMatchObject({ mode: 'read-only', licence: null, reason });
  });

  it('refuses a genuine older token below the person\'s watermark (replay), per person and per device', async () => {
    const { run, put } = await setup();
    put(await signUserEntitlement(key, claims({ seq: 5 })), 5);
    expect((await run({ deviceId: 'dev_1', users: { alice: { seq: 7, iatMs: NOW_MS } } }))[0]).toMatchObject({ mode: 'read-only', reason: 'TOKEN_REPLAYED' });
    // Another person's watermark, or another device's file, does not count against alice.
    expect((await run({ deviceId: 'dev_1', users: { bob: { seq: 9, iatMs: NOW_MS } } }))[0]).toMatchObject({ mode: 'full' });
    expect((await run({ deviceId: 'dev_2', users: { alice: { seq: 9, iatMs: NOW_MS } } }))[0]).toMatchObject({ mode: 'full' });
  });

  it('normalises the signed-in account names and leaves out names that are no sign-in name', () => {
    expect(signInNames(['Alice', 'CONTOSO\\bob', 'alice', 'a,b'])).toEqual({ names: ['alice', 'bob@contoso'], refused: ['a,b'] });
  });
});

// Sign-in domain aliases (shared/sign-in-domains.ts): the device asked about
// `alice@corp`; the service answers with the licence of the person
// `alice@corp.example.com`, in a token whose `user` is still the asked name
// and whose `person` names whose licence it is. The agent binds a token to
// the name it asked about only: the person claim never makes it count for
// anyone else.
describe('evaluateUsers with a sign-in domain alias', () => {
  const asked = 'alice@corp';
  const person = 'alice@corp.example.com';

  it('accepts the answer for the asked name that carries the person behind it', async () => {
    const { run, put } = await setup();
    put(await signUserEntitlement(key, claims({ user: asked, person })), 7, asked);
    const d = (await run(null, [asked]))[0]!;
    expect(d).toMatchObject({ user: asked, mode: 'full', licence: 'user', reason: 'ASSIGNED', person });
    // `status` says whose licence it is.
    expect(formatStatus(statusWith({ name: 'CORP\\alice', line: 'session 1', since: '2030-01-01T00:00:00.000Z', mode: d.mode, reason: d.reason, licence: d.licence, firstSignIn: null, person: d.person ?? null })))
      .toMatch(/Users +CORP\\alice \(session 1\) full by user licence of alice@corp\.example\.com since/);
    // Without an alias the token names nobody else.
    const plain = await setup();
    plain.put(await signUserEntitlement(key, claims({ user: asked })), 7, asked);
    expect((await plain.run(null, [asked]))[0]!.person).toBeUndefined();
  });

  const attacks: [string, Partial<UserEntitlementClaims>, string][] = [
    // The canonical person's own token (e.g. from a device where they signed in as alice@corp.example.com), stored under the NetBIOS spelling.
    ['the person\'s own token stored under the asked name', { user: person }, asked],
    // Another name's answer naming the same person: the person claim is no key.
    ['another name\'s token naming this person', { user: 'bob@corp', person }, asked],
    // The answer for the NetBIOS spelling, stored for the person signed in under the DNS spelling.
    ['the asked name\'s token stored for its person', { user: asked, person }, person],
    // An answer for another name that claims to be for the asked name as person.
    ['a token whose person is the asked name', { user: 'mallory@corp', person: asked }, asked],
  ];
  it.each(attacks)('refuses %s', async (_name, over, storedAs) => {
    const { run, put } = await setup();
    put(await signUserEntitlement(key, claims(over)), 7, storedAs);
    expect((await run(null, [storedAs]))[0]).toMatchObject({ user: storedAs, mode: 'read-only', licence: null, reason: 'TOKEN_INVALID' });
  });
});
