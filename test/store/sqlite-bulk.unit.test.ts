// SQLite's recompute write (entitlementQueries.applyChanges): changed rows go
// in one UPDATE per move (old answer to new), naming the rows through
// json_each (by rowid where given, else by id). Checked against the rows a
// plain per-row reference expects: seq + 1, token dropped, every value (null
// apart from the text "null") written, rows not named left exactly as they
// were, and entitlement_counts (kept by the write, not a trigger) equal to a
// count of the rows.
import { afterEach, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import { entitlementQueries, type EntitlementAnswer, type EntitlementMove } from '../../service/store/queries/entitlements.ts';
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
  type Write = EntitlementAnswer & { deviceId: string };
  const answer = (i: number, k: number): Write => (k % 4 === 0
    ? { deviceId: `dev_${i}`, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null }
    : k % 4 === 3
      ? { deviceId: `dev_${i}`, status: 'unlicensed', reason: 'SEATS_EXHAUSTED', product: 'P1', subscription: 's1', group: 'null' }
      : { deviceId: `dev_${i}`, status: 'licensed', reason: 'ASSIGNED', product: 'P1', subscription: `s${k % 2}`, group: `g${k % 3}` });
  // Writes as moves: grouped by old answer (null: a new row) and new answer, as a recompute makes them.
  const moves = (writes: Write[], from: (w: Write) => Write | null, rowid?: Map<string, number>): EntitlementMove[] => {
    const out = new Map<string, EntitlementMove & { ids: string[]; rows: number[] | null }>();
    for (const w of writes) {
      const f = from(w);
      const key = JSON.stringify([f?.status, f?.reason, f?.product, f?.subscription, f?.group, w.status, w.reason, w.product, w.subscription, w.group]);
      let m = out.get(key);
      // Every other move names its rows by rowid, the rest by id: both ways are written.
      if (!m) out.set(key, (m = { from: f && { status: f.status, reason: f.reason }, to: w, ids: [], rows: rowid && out.size % 2 === 0 ? [] : null }));
      m.ids.push(w.deviceId);
      m.rows?.push(rowid!.get(w.deviceId)!);
    }
    return [...out.values()];
  };
  const counts = async () => ({
    kept: await db.all('SELECT status, reason, n FROM entitlement_counts WHERE n > 0 ORDER BY status, reason'),
    counted: await db.all('SELECT status, reason, COUNT(*) AS n FROM device_entitlements GROUP BY status, reason ORDER BY status, reason'),
  });
  const inserts = Array.from({ length: n }, (_, i) => answer(i, i));
  await db.transaction((tx) => entitlementQueries(tx).applyChanges({ moves: moves(inserts, () => null), at: AT1 }));
  await db.run("UPDATE device_entitlements SET token = 'tok', token_iat = 5");
  const first = await counts();
  expect(first.kept).toEqual(first.counted);
  // Every third device changes, to one of several answers in no particular order.
  const updates = inserts.filter((_, i) => i % 3 === 0).map((w, j) => answer(Number(w.deviceId.slice(4)), (j * 7) % 11));
  const rowid = new Map((await db.all<{ r: number; id: string }>('SELECT rowid AS r, device_id AS id FROM device_entitlements')).map((x) => [x.id, x.r]));
  const byId = new Map(inserts.map((w) => [w.deviceId, w]));
  const updateMoves = moves(updates, (w) => byId.get(w.deviceId)!, rowid);
  expect(updateMoves.filter((m) => m.rows).length).toBeGreaterThan(0);
  expect(updateMoves.filter((m) => !m.rows).length).toBeGreaterThan(0);
  await db.transaction((tx) => entitlementQueries(tx).applyChanges({ moves: updateMoves, at: AT2 }));
  const second = await counts();
  expect(second.kept).toEqual(second.counted);
  expect(second.kept).not.toEqual(first.kept);

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
