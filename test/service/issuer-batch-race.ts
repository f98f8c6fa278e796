// Attacks one signing batch of EntitlementIssuer (the body shared by the
// SQLite unit test and the PostgreSQL test): 40 devices are read and signed
// together, and while the batch is being signed (a real in-thread signer,
// held at a gate) one device is licensed by a recompute, one is retired
// (reason DEVICE_RETIRED), one disabled, one forgotten (its row deleted, as a
// merge or delete does) and one is answered by a second issuer racing the
// batch. Then the batch is stored, in one statement. Nobody may get a stale
// or wrong answer, the changed devices must get their new state, and every
// other device's token must be exactly the one it was answered with.
import { expect } from 'vitest';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { createStore } from '../../service/store/store.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { EntitlementIssuer, type TokenPolicy } from '../../service/licensing/entitlements.ts';
import { inThreadSigner, type EntitlementSigner } from '../../service/signing/pool.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { generateSigningKey, verifyEntitlement } from '../../shared/token.ts';

const POLICY: TokenPolicy = {
  issuer: 'https://licensing.example.test', offlineValiditySeconds: 90 * 86_400, warnBeforeExpirySeconds: 10 * 86_400,
  refreshAfterSeconds: 86_400, reissueAfterSeconds: 86_400,
};
const N = 40;
const SKU = 'M365_APPS_ENTERPRISE_DEVICE';

export async function attackOneBatch(db: SqlDatabase): Promise<void> {
  const store = createStore(db);
  const at = new Date().toISOString();
  await seedCatalogue(store, at);
  const ids = Array.from({ length: N }, (_, i) => `dev_${i}`);
  for (const id of ids) {
    await db.run(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, '', '{}', '{}', ?)`, [id, id, `hash-${id}`, at]);
    await db.run(`INSERT INTO device_entitlements (device_id, seq, status, reason, changed_at) VALUES (?, 3, 'unlicensed', 'NOT_IN_LICENSED_GROUP', ?)`, [id, at]);
  }
  const key = generateSigningKey();
  // The real signer, held at a gate for the first batch only: the test changes rows while it is "signing".
  let entered!: () => void;
  const signing = new Promise<void>((r) => { entered = r; });
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let batches = 0;
  const gated: EntitlementSigner = {
    async signBatch(k, claims) {
      if (batches++ === 0) { entered(); await gate; }
      return inThreadSigner.signBatch(k, claims);
    },
    stop: async () => {},
  };
  const issuer = new EntitlementIssuer(store, key, POLICY, gated);
  const now = Math.floor(Date.now() / 1000);
  const answers = Promise.all(ids.map((id) => issuer.current(id, now)));
  await signing;

  // While the batch of all 40 is being signed:
  const move = (id: string, status: string, reason: string, product: string | null) => ({
    from: { status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' }, to: { status, reason, product, subscription: null, group: null }, ids: [id], rows: null,
  });
  await store.transaction((tx) => tx.entitlements.applyChanges({
    moves: [move('dev_5', 'licensed', 'ASSIGNED', SKU), move('dev_20', 'unlicensed', 'DEVICE_RETIRED', null), move('dev_21', 'unlicensed', 'DEVICE_DISABLED', null)], at,
  }));
  await db.run("DELETE FROM device_entitlements WHERE device_id = 'dev_9'");
  issuer.invalidate(['dev_5', 'dev_20', 'dev_21', 'dev_9']);
  // A second issuer (another replica) answers dev_12 first, from the same row state.
  const racer = (await new EntitlementIssuer(store, key, POLICY).current('dev_12', now + 1))!;
  release();
  const got = await answers;

  const verify = (token: string, deviceId: string) => verifyEntitlement(token, {
    keys: new Map([[key.kid, key.publicKey]]), deviceId, issuer: POLICY.issuer, audience: ENTITLEMENT_AUDIENCE,
  });
  const rows = new Map((await db.all<{ device_id: string; seq: number; token: string | null; token_iat: number | null }>(
    'SELECT device_id, seq, token, token_iat FROM device_entitlements')).map((r) => [r.device_id, r]));
  for (const [i, id] of ids.entries()) {
    const a = got[i];
    if (id === 'dev_9') {
      expect(a, id).toBeNull();
      expect(rows.has(id)).toBe(false);
      continue;
    }
    expect(a, id).not.toBeNull();
    const claims = await verify(a!.token, id);
    expect(claims.sub).toBe(id);
    expect(claims.seq).toBe(a!.seq);
    // What the device was answered is what is stored for it: one seq, one token.
    expect(rows.get(id), id).toMatchObject({ seq: a!.seq, token: a!.token });
    if (id === 'dev_5') expect(claims).toMatchObject({ seq: 4, status: 'licensed', reason: 'ASSIGNED', product: SKU });
    else if (id === 'dev_20') expect(claims).toMatchObject({ seq: 4, status: 'unlicensed', reason: 'DEVICE_RETIRED' });
    else if (id === 'dev_21') expect(claims).toMatchObject({ seq: 4, status: 'unlicensed', reason: 'DEVICE_DISABLED' });
    else if (id === 'dev_12') expect(a).toEqual(racer);
    else {
      expect(claims).toMatchObject({ seq: 3, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', iat: now });
      expect(Number(rows.get(id)!.token_iat)).toBe(now);
    }
  }
  // The gated batch and the retries of the devices it could not store: more than one batch ran.
  expect(batches).toBeGreaterThan(1);
}
