// The issuer's batched statements (storeTokens, issuableMany, signedSeqMany:
// one statement per batch on both backends) against a per-row reference
// written here (one conditional UPDATE or one single-row read per device, the
// portable SQL both backends run), fed the same input on two fresh databases
// of the same backend: they must end with identical rows and stored sets,
// including the conditional store's races (a row recomputed, or re-signed by
// another batch, between the read and the store is left alone). Used by
// pg-bulk.test.ts (PostgreSQL) and sqlite-tokens.unit.test.ts (SQLite).
import { expect } from 'vitest';
import { entitlementQueries, type EntitlementAnswer, type EntitlementMove, type StoredToken } from '../../service/store/queries/entitlements.ts';
import type { SqlConn, SqlDatabase } from '../../service/store/sql.ts';

export const AT1 = '2026-12-01T00:00:00.000Z';
export const AT2 = '2026-12-01T00:05:00.000Z';

/** Inserts n devices dev_0.., product P1, groups g0-g2 and subscriptions s0, s1 (the rows the foreign keys need). */
export async function seedTokenFixture(db: SqlDatabase, n: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.runMany("INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, '', '{}', '{}', ?)",
      Array.from({ length: n }, (_, i) => [`dev_${i}`, `dev_${i}`, `h${i}`, AT1]));
    await tx.run("INSERT INTO products (sku, name, channel, created_at) VALUES ('P1', 'Product one', 'current', ?)", [AT1]);
    for (const g of ['g0', 'g1', 'g2']) await tx.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [g, g, AT1]);
    for (const [i, s] of ['s0', 's1'].entries()) {
      await tx.run("INSERT INTO subscriptions (id, name, product_sku, seats, created_at, ord) VALUES (?, ?, 'P1', 10, ?, ?)", [s, s, AT1, i]);
    }
  });
}

export type Write = EntitlementAnswer & { deviceId: string };
/** Device i's answer: licensed (P1, s0/s1, g0-g2 by i) or not in a licensed group. */
export function write(i: number, licensed: boolean): Write {
  return licensed
    ? { deviceId: `dev_${i}`, status: 'licensed', reason: 'LICENSED', product: 'P1', subscription: `s${i % 2}`, group: `g${i % 3}` }
    : { deviceId: `dev_${i}`, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null };
}
/** Writes as a recompute's moves: one per old answer (by `from`; null: new rows) and new answer. */
export function moves(writes: Write[], from: (w: Write) => Write | null): EntitlementMove[] {
  const out = new Map<string, EntitlementMove & { ids: string[] }>();
  for (const w of writes) {
    const f = from(w);
    const key = JSON.stringify([f?.status, f?.reason, f?.product, f?.subscription, f?.group, w.status, w.reason, w.product, w.subscription, w.group]);
    let m = out.get(key);
    if (!m) out.set(key, (m = { from: f && { status: f.status, reason: f.reason }, to: w, ids: [], rows: null }));
    m.ids.push(w.deviceId);
  }
  return [...out.values()];
}

/** The per-row reference: what the batched statements must do, one statement per device. */
function perRow(c: SqlConn) {
  const q = entitlementQueries(c);
  return {
    async storeTokens(rows: readonly StoredToken[]): Promise<Set<string>> {
      const stored = new Set<string>();
      for (const t of rows) {
        const r = await c.run('UPDATE device_entitlements SET token = ?, token_iat = ?, seq = ? WHERE device_id = ? AND seq = ? AND token_iat IS NOT DISTINCT FROM ?',
          [t.token, t.iat, t.seq, t.deviceId, t.prevSeq, t.prevIat]);
        if (r.changes === 1) stored.add(t.deviceId);
      }
      return stored;
    },
    async issuableMany(ids: readonly string[]) {
      const out = new Map<string, unknown>();
      for (const id of ids) { const r = await q.issuable(id); if (r) out.set(id, r); }
      return out;
    },
    async signedSeqMany(ids: readonly string[], prefix: string) {
      const out = new Map<string, unknown>();
      for (const id of ids) { const r = await q.signedSeq(id, prefix); if (r) out.set(id, r); }
      return out;
    },
  };
}

const dump = (c: SqlConn) => c.all('SELECT device_id, seq, status, reason, product_sku, subscription_id, group_id, changed_at, token, token_iat FROM device_entitlements ORDER BY device_id');

/**
 * Runs the scenario on two fresh databases (`fresh` seeds them with
 * seedTokenFixture), one through the batched statements and one through the
 * reference; `inTx` false stores outside any transaction (as the issuer does).
 */
export async function checkTokenStore(fresh: (n: number) => Promise<SqlDatabase>, inTx: boolean): Promise<void> {
  const n = 400;
  const [bulk, rowwise] = [await fresh(n), await fresh(n)];
  const results: Set<string>[][] = [];
  for (const [db, bulkPath] of [[bulk, true], [rowwise, false]] as const) {
    const q = (c: SqlConn) => (bulkPath ? entitlementQueries(c) : perRow(c));
    const store = (rows: StoredToken[]) => (inTx || !bulkPath ? db.transaction((tx) => q(tx).storeTokens(rows)) : q(db).storeTokens(rows));
    await db.transaction((tx) => entitlementQueries(tx).applyChanges({ moves: moves(Array.from({ length: n }, (_, i) => write(i, i % 2 === 0)), () => null), at: AT1 }));
    // Batch 1 signs every device from its first state (seq 1, no token yet).
    const first = Array.from({ length: n }, (_, i): StoredToken => ({ deviceId: `dev_${i}`, token: `tok1.${i}`, iat: 1000, seq: 1, prevSeq: 1, prevIat: null }));
    // Meanwhile a recompute changes every 4th device (seq 2, token cleared): those must be left alone.
    await db.transaction((tx) => entitlementQueries(tx).applyChanges({ moves: moves(first.map((_, i) => i).filter((i) => i % 4 === 0).map((i) => write(i, i % 2 !== 0)), (w) => write(Number(w.deviceId.slice(4)), Number(w.deviceId.slice(4)) % 2 === 0)), at: AT2 }));
    const r1 = await store([...first, { deviceId: 'dev_missing', token: 'x', iat: 1000, seq: 1, prevSeq: 1, prevIat: null }]);
    // A second batch raced the first over the same state (seq 1, no token): nothing of it may land,
    // or one seq would carry two different tokens.
    const r2 = await store(first.slice(0, 50).map((t) => ({ ...t, token: `tok1b.${t.deviceId}` })));
    // Re-signing: devices stored by batch 1 go to seq 2 over (seq 1, iat 1000); a stale
    // re-sign over (seq 1, iat 999) must not land; the recomputed ones get their first token at seq 2.
    const resign = Array.from({ length: n }, (_, i): StoredToken => (i % 4 === 0
      ? { deviceId: `dev_${i}`, token: `tok2.${i}`, iat: 2000, seq: 2, prevSeq: 2, prevIat: null }
      : { deviceId: `dev_${i}`, token: `tok2.${i}`, iat: 2000, seq: 2, prevSeq: 1, prevIat: i % 7 === 0 ? 999 : 1000 }));
    const r3 = await store(resign);
    results.push([r1, r2, r3]);
  }
  const sorted = (s: Set<string>) => [...s].sort();
  for (let k = 0; k < 3; k++) expect(sorted(results[0][k])).toEqual(sorted(results[1][k]));
  const [r1, r2, r3] = results[0];
  expect(r1.size).toBe(n - n / 4);
  expect(r1.has('dev_0')).toBe(false);
  expect(r1.has('dev_1')).toBe(true);
  expect(r1.has('dev_missing')).toBe(false);
  expect(r2.size).toBe(0);
  expect(r3.has('dev_0')).toBe(true);
  expect(r3.has('dev_7')).toBe(false);
  expect(r3.has('dev_1')).toBe(true);
  const rows = await dump(bulk);
  expect(rows).toEqual(await dump(rowwise));
  const byId = new Map(rows.map((r) => [r.device_id, r]));
  expect(byId.get('dev_7')).toMatchObject({ seq: 1, token: 'tok1.7', token_iat: 1000 });
  expect(byId.get('dev_1')).toMatchObject({ seq: 2, token: 'tok2.1', token_iat: 2000 });
  expect(byId.get('dev_0')).toMatchObject({ seq: 2, token: 'tok2.0', token_iat: 2000, changed_at: AT2 });
  // The batched reads of a wake: the same rows as the per-row reads, devices without a row (or a token) absent.
  const ids = ['dev_0', 'dev_1', 'dev_7', 'dev_missing', ...Array.from({ length: 50 }, (_, i) => `dev_${100 + i}`)];
  const [many, single] = [entitlementQueries(bulk), perRow(bulk)];
  const issuable = await many.issuableMany(ids);
  expect(issuable).toEqual(await single.issuableMany(ids));
  expect(issuable.size).toBe(ids.length - 1);
  expect(issuable.get('dev_1')).toEqual(await many.issuable('dev_1'));
  expect(issuable.get('dev_1')).toMatchObject({ seq: 2, token: 'tok2.1', product_name: null });
  expect(issuable.get('dev_2')).toBeUndefined(); // not asked for
  expect(issuable.get('dev_102')).toMatchObject({ status: 'licensed', product_name: 'Product one', term_end: null });
  const signedSeqs = await many.signedSeqMany(ids, 'tok2.');
  expect(signedSeqs).toEqual(await single.signedSeqMany(ids, 'tok2.'));
  expect(signedSeqs.get('dev_7')).toEqual({ seq: 1, token_iat: 1000, active: 0 });
  expect(signedSeqs.get('dev_1')).toEqual({ seq: 2, token_iat: 2000, active: 1 });
}
