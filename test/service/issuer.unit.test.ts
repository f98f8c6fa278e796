// EntitlementIssuer on a real SQLite file: requests that arrive together are
// signed in one batch, every answer verifies, and a row that changes between
// a request and its batch being stored is never overwritten - one seq never
// carries two different tokens, and a recomputed row is answered fresh.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { createStore, type Store } from '../../service/store/store.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { EntitlementIssuer, type TokenPolicy } from '../../service/licensing/entitlements.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { generateSigningKey, verifyEntitlement, type SigningKey } from '../../shared/token.ts';
import { tempDir } from '../helpers/processes.ts';

const POLICY: TokenPolicy = {
  issuer: 'https://licensing.example.test', offlineValiditySeconds: 90 * 86_400, warnBeforeExpirySeconds: 10 * 86_400,
  refreshAfterSeconds: 86_400, reissueAfterSeconds: 86_400,
};
const NOW = Math.floor(Date.now() / 1000);
const DEVICES = ['dev_a', 'dev_b', 'dev_c'];

let db: SqlDatabase;
let store: Store;
let key: SigningKey;
let issuer: EntitlementIssuer;

beforeEach(async () => {
  db = openSqlite(join(tempDir('issuer'), 'devlic.db'));
  store = createStore(db);
  const at = new Date().toISOString();
  await seedCatalogue(store, at);
  for (const id of DEVICES) {
    await db.run(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, '', '{}', '{}', ?)`, [id, id, `hash-${id}`, at]);
    await db.run(`INSERT INTO device_entitlements (device_id, seq, status, reason, changed_at) VALUES (?, 3, 'unlicensed', 'NOT_IN_LICENSED_GROUP', ?)`, [id, at]);
  }
  key = generateSigningKey();
  issuer = new EntitlementIssuer(store, key, POLICY);
});
afterEach(() => db.close());

const verify = (token: string, deviceId: string) => verifyEntitlement(token, {
  keys: new Map([[key.kid, key.publicKey]]), deviceId, issuer: POLICY.issuer, audience: ENTITLEMENT_AUDIENCE,
});
const stored = async (id: string) => (await db.get<{ seq: number; token: string | null; token_iat: number | null }>(
  'SELECT seq, token, token_iat FROM device_entitlements WHERE device_id = ?', [id]))!;

describe('EntitlementIssuer', () => {
  it('after a key rotation, never serves (nor keeps by ETag) a token the old key signed: it is re-signed with the new key', async () => {
    const old = (await issuer.current('dev_a', NOW))!;
    expect(await issuer.currentSeq('dev_a', NOW)).toBe(old.seq);
    // The service restarted with a new active key: same database, fresh issuer.
    const next = generateSigningKey();
    const rotated = new EntitlementIssuer(store, next, POLICY);
    // No ETag match for the old token, so a long-poll with its seq gets an answer at once.
    expect(await rotated.currentSeq('dev_a', NOW + 1)).toBeNull();
    const fresh = (await rotated.current('dev_a', NOW + 1))!;
    expect(fresh.seq).toBe(old.seq + 1);
    expect(fresh.token.split('.')[0]).not.toBe(old.token.split('.')[0]);
    expect(await verifyEntitlement(fresh.token, { keys: new Map([[next.kid, next.publicKey]]), deviceId: 'dev_a', issuer: POLICY.issuer, audience: ENTITLEMENT_AUDIENCE }))
      .toMatchObject({ seq: old.seq + 1 });
    expect(await rotated.currentSeq('dev_a', NOW + 1)).toBe(fresh.seq);
    expect((await stored('dev_a')).token).toBe(fresh.token);
  });

  it('signs requests that arrive together once per device, each answer verifiable and stored', async () => {
    const answers = await Promise.all([...DEVICES, ...DEVICES].map((id) => issuer.current(id, NOW)));
    for (const [i, id] of [...DEVICES, ...DEVICES].entries()) {
      const a = answers[i]!;
      expect(a.seq).toBe(3);
      expect(a.token).toBe((await stored(id)).token);
      expect(await verify(a.token, id)).toMatchObject({ sub: id, seq: 3, status: 'unlicensed' });
    }
    // The same device asked twice in one batch got the same token.
    expect(answers[0]!.token).toBe(answers[3]!.token);
    expect(await issuer.currentSeq('dev_a', NOW)).toBe(3);
    expect(await issuer.current('nobody', NOW)).toBeNull();
  });

  it('does not overwrite a token another batch stored meanwhile for the same seq', async () => {
    // Two batches that both read the unsigned row; the second signs a second
    // later (so its token would differ) and must give way to the first.
    const first = issuer.current('dev_a', NOW);
    const second = new EntitlementIssuer(store, key, POLICY).current('dev_a', NOW + 1);
    const [a, b] = [(await first)!, (await second)!];
    expect(b).toEqual(a);
    expect(await stored('dev_a')).toMatchObject({ seq: 3, token: a.token, token_iat: NOW });
  });

  it('answers a row recomputed between the request and its batch with the new state, not the old', async () => {
    const pending = issuer.current('dev_b', NOW);
    await db.run(`UPDATE device_entitlements SET seq = seq + 1, status = 'licensed', reason = 'ASSIGNED', product_sku = 'M365_APPS_ENTERPRISE_DEVICE',
      token = NULL, token_iat = NULL WHERE device_id = 'dev_b'`);
    issuer.invalidate(['dev_b']);
    const b = (await pending)!;
    expect(b.seq).toBe(4);
    expect(await verify(b.token, 'dev_b')).toMatchObject({ seq: 4, status: 'licensed', reason: 'ASSIGNED' });
    expect(await stored('dev_b')).toMatchObject({ seq: 4, token: b.token });
  });

  it('re-signs a token older than reissueAfter with a higher seq', async () => {
    const first = (await issuer.current('dev_c', NOW))!;
    const later = NOW + POLICY.reissueAfterSeconds;
    expect(await issuer.currentSeq('dev_c', later)).toBeNull();
    const again = (await issuer.current('dev_c', later))!;
    expect(again.seq).toBe(first.seq + 1);
    expect(await verify(again.token, 'dev_c')).toMatchObject({ seq: first.seq + 1, iat: later });
    expect(await stored('dev_c')).toMatchObject({ seq: first.seq + 1, token_iat: later });
  });
});

describe('EntitlementIssuer.cachedSeq (the 304 path without a promise)', () => {
  it('answers only what currentSeq() has cached: nothing before a read or after invalidate(), null at the reissue age', async () => {
    expect(issuer.cachedSeq('dev_a', NOW)).toBeUndefined();
    const issued = (await issuer.current('dev_a', NOW))!;
    expect(await issuer.currentSeq('dev_a', NOW)).toBe(issued.seq);
    expect(issuer.cachedSeq('dev_a', NOW)).toBe(issued.seq);
    expect(issuer.cachedSeq('dev_b', NOW)).toBeUndefined();
    expect(issuer.cachedSeq('dev_a', NOW + POLICY.reissueAfterSeconds)).toBeNull();
    expect(await issuer.currentSeq('dev_a', NOW + POLICY.reissueAfterSeconds)).toBeNull();
    issuer.invalidate(['dev_a']);
    expect(issuer.cachedSeq('dev_a', NOW)).toBeUndefined();
    expect(await issuer.currentSeq('dev_a', NOW)).toBe(issued.seq);
    issuer.invalidate('all');
    expect(issuer.cachedSeq('dev_a', NOW)).toBeUndefined();
  });
});
