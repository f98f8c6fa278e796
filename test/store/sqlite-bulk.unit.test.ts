// SQLite's recompute write (entitlementQueries.applyChanges): changed rows go
// in one UPDATE per distinct new answer, naming the devices through
// json_each. Checked against the rows a plain per-row reference expects:
// seq + 1, token dropped, every value (null apart from the text "null")
// written, and rows not named left exactly as they were.
import { afterEach, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import { entitlementQueries, type EntitlementWrite } from '../../service/store/queries/entitlements.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';

const AT1 = '2026-12-01T00:00:00.000Z';
const AT2 = '2026-12-01T00:05:00.000Z';
const dirs: string[] = [];
const dbs: SqlDatabase[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('applyChanges writes each changed row as the per-row reference would, and nothing else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devlic-sqlite-bulk-'));
  dirs.push(dir);
  const db = openSqlite(join(dir, 'devlic.db'));
  dbs.push(db);
  const n = 3000;
  await db.transaction(async (tx) => {
    await tx.runMany("INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, '', '{}', '{}', ?)",
      Array.from({ length: n }, (_, i) => [`dev_${i}`, `dev_${i}`, `h${i}`, AT1]));
    await tx.run("INSERT INTO products (sku, name, channel, created_at) VALUES ('P1', 'Product one', 'current', ?)", [AT1]);
    for (const g of ['g0', 'g1', 'g2', 'null']) await tx.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [g, g, AT1]);
    for (const [i, s] of ['s0', 's1'].entries()) await tx.run("INSERT INTO subscriptions (id, name, product_sku, seats, created_at, ord) VALUES (?, ?, 'P1', 10, ?, ?)", [s, s, AT1, i]);
  });
  const answer = (i: number, k: number): EntitlementWrite => (k % 4 === 0
    ? { deviceId: `dev_${i}`, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null }
    : k % 4 === 3
      ? { deviceId: `dev_${i}`, status: 'unlicensed', reason: 'SEATS_EXHAUSTED', product: 'P1', subscription: 's1', group: 'null' }
      : { deviceId: `dev_${i}`, status: 'licensed', reason: 'ASSIGNED', product: 'P1', subscription: `s${k % 2}`, group: `g${k % 3}` });
  const inserts = Array.from({ length: n }, (_, i) => answer(i, i));
  await db.transaction((tx) => entitlementQueries(tx).applyChanges({ inserts, updates: [], at: AT1 }));
  await db.run("UPDATE device_entitlements SET token = 'tok', token_iat = 5");
  // Every third device changes, to one of several answers in no particular order.
  const updates = inserts.filter((_, i) => i % 3 === 0).map((w, j) => answer(Number(w.deviceId.slice(4)), (j * 7) % 11));
  await db.transaction((tx) => entitlementQueries(tx).applyChanges({ inserts: [], updates, at: AT2 }));

  const want = new Map(inserts.map((w) => [w.deviceId, { w, seq: 1, changed_at: AT1, token: 'tok' as string | null, token_iat: 5 as number | null }]));
  for (const w of updates) want.set(w.deviceId, { w, seq: 2, changed_at: AT2, token: null, token_iat: null });
  const rows = await db.all<Record<string, unknown>>('SELECT device_id, seq, status, reason, product_sku, subscription_id, group_id, changed_at, token, token_iat FROM device_entitlements');
  expect(rows).toHaveLength(n);
  for (const r of rows) {
    const x = want.get(r.device_id as string)!;
    expect(r, r.device_id as string).toEqual({
      device_id: x.w.deviceId, seq: x.seq, status: x.w.status, reason: x.w.reason, product_sku: x.w.product, subscription_id: x.w.subscription,
      group_id: x.w.group, changed_at: x.changed_at, token: x.token, token_iat: x.token_iat,
    });
  }
  // The comparison is about something: several answers were written, "null" the text among them.
  expect(new Set(updates.map((u) => u.reason)).size).toBe(3);
  expect(rows.filter((r) => r.group_id === 'null' && r.seq === 2).length).toBeGreaterThan(0);
  expect(rows.filter((r) => r.group_id === null && r.seq === 2).length).toBeGreaterThan(0);
});
