// The set-based PostgreSQL paths of the entitlement queries, on a real
// throwaway cluster: applyChanges and replaceUsage against the rows the input
// must give (computed here, row by row); storeTokens and the batched reads
// issuableMany, signedSeqMany against a per-row reference on the same input
// (token-store-check.ts, shared with SQLite's test), so two databases fed the
// same input must end up with identical rows, including the conditional token
// store's races: a row recomputed or re-signed between the read and the store is left alone.
// The recompute's grouped device read (hashed, with enable_sort off for that
// statement only) against a plain per-device read.
import { afterEach, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../../service/store/postgres/open.ts';
import { entitlementQueries } from '../../service/store/queries/entitlements.ts';
import { deviceQueries } from '../../service/store/queries/devices.ts';
import type { SqlConn } from '../../service/store/sql.ts';
import { newId } from '../../service/licensing/context.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { checkTokenStore, moves, write } from './token-store-check.ts';

const AT1 = '2026-12-01T00:00:00.000Z';
const AT2 = '2026-12-01T00:05:00.000Z';

describePostgres('PostgreSQL bulk entitlement writes', (cluster) => {
  const open: PostgresDatabase[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });

  /** A fresh database with n devices, 3 groups and 2 subscriptions (the rows the foreign keys need). */
  async function fresh(n: number): Promise<PostgresDatabase> {
    const db = await openPostgres(await cluster().createDatabase());
    open.push(db);
    const ids = Array.from({ length: n }, (_, i) => `dev_${i}`);
    await db.run(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at)
      SELECT d, d, d, '', '{}', '{}', ? FROM unnest(?::text[]) AS d`, [AT1, ids as never]);
    await db.run("INSERT INTO products (sku, name, channel, created_at) VALUES ('P1', 'Product one', 'current', ?)", [AT1]);
    for (const g of ['g0', 'g1', 'g2']) await db.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [g, g, AT1]);
    for (const [i, s] of ['s0', 's1'].entries()) {
      await db.run("INSERT INTO subscriptions (id, name, product_sku, seats, created_at, ord) VALUES (?, ?, 'P1', 10, ?, ?)", [s, s, AT1, i]);
    }
    return db;
  }

  const dump = (c: SqlConn) => c.all('SELECT device_id, seq, status, reason, product_sku, subscription_id, group_id, changed_at, token, token_iat FROM device_entitlements ORDER BY device_id');


  it('applyChanges and replaceUsage write the rows the input gives, across the statement size', async () => {
    // 25,000 rows: more than one set-based insert (20,000 rows each) for the largest move; the updates of one new
    // answer are one statement up to 100,000 ids. The expected
    // rows are computed here rather than written by a per-row path on a second database (25,000 round trips
    // that took most of this test's time on a busy machine).
    const n = 25_000;
    const db = await fresh(n);
    const inserts = Array.from({ length: n }, (_, i) => write(i, i % 3 === 0));
    const updates = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 0 || i < 24_000).map((i) => (i % 5 !== 0 ? write(i, false) : write(i, i % 3 !== 0)));
    const usage: [string, { seatsUsed: number; seatsExhausted: number; devicesReached: number }][] = [
      ['s0', { seatsUsed: 7, seatsExhausted: 0, devicesReached: 7 }], ['s1', { seatsUsed: 10, seatsExhausted: 1, devicesReached: 12 }]];
    const reach: [string, number][] = [['g0', 3], ['g1', 0], ['g2', 12]];
    await db.transaction(async (tx) => {
      const q = entitlementQueries(tx);
      await q.applyChanges({ moves: moves(inserts, () => null), at: AT1 });
      await q.replaceUsage([usage[0]], [reach[0]]);
    });
    await db.run("UPDATE device_entitlements SET token = 'tok', token_iat = 5");
    const insertedAs = new Map(inserts.map((w) => [w.deviceId, w]));
    const updateMoves = moves(updates, (w) => insertedAs.get(w.deviceId)!);
    // PostgreSQL writes a new answer's devices together: one of them is more than 20,000 ids, one statement now.
    expect(updates.filter((w) => w.status === 'unlicensed').length).toBeGreaterThan(20_000);
    await db.transaction(async (tx) => {
      const q = entitlementQueries(tx);
      await q.applyChanges({ moves: updateMoves, at: AT2 });
      await q.replaceUsage(usage, reach);
    });
    const want = new Map(inserts.map((w) => [w.deviceId, { w, seq: 1, changed_at: AT1, token: 'tok' as string | null, token_iat: 5 as number | null }]));
    for (const w of updates) want.set(w.deviceId, { w, seq: 2, changed_at: AT2, token: null, token_iat: null });
    const rows = await dump(db);
    expect(rows).toHaveLength(n);
    for (const r of rows as Record<string, unknown>[]) {
      const x = want.get(r.device_id as string)!;
      if (r.seq !== x.seq || r.status !== x.w.status || r.reason !== x.w.reason || r.product_sku !== x.w.product || r.subscription_id !== x.w.subscription
        || r.group_id !== x.w.group || r.changed_at !== x.changed_at || r.token !== x.token || Number(r.token_iat) !== Number(x.token_iat) || (r.token_iat === null) !== (x.token_iat === null)) {
        expect(r).toEqual({ device_id: x.w.deviceId, seq: x.seq, status: x.w.status, reason: x.w.reason, product_sku: x.w.product, subscription_id: x.w.subscription,
          group_id: x.w.group, changed_at: x.changed_at, token: x.token, token_iat: x.token_iat });
      }
    }
    // Spot checks that the comparison is about something: seq bumped, token dropped, values written.
    const byId = new Map(rows.map((r) => [r.device_id, r]));
    expect(byId.get('dev_5')).toMatchObject({ seq: 2, status: 'licensed', subscription_id: 's1', group_id: 'g2', changed_at: AT2, token: null });
    expect(byId.get('dev_24003')).toMatchObject({ seq: 1, status: 'licensed', subscription_id: 's1', group_id: 'g0', changed_at: AT1, token: 'tok' });
    expect(byId.get('dev_24001')).toMatchObject({ seq: 1, status: 'unlicensed', product_sku: null });
    // The counts were kept across both writes (inserts by trigger, updates by the write's deltas).
    expect(await db.all('SELECT status, reason, n FROM entitlement_counts WHERE n > 0 ORDER BY status, reason'))
      .toEqual(await db.all('SELECT status, reason, COUNT(*) AS n FROM device_entitlements GROUP BY status, reason ORDER BY status, reason'));
    expect(await db.all('SELECT * FROM subscription_usage ORDER BY subscription_id')).toEqual([
      { subscription_id: 's0', seats_used: 7, seats_exhausted: 0, devices_reached: 7 },
      { subscription_id: 's1', seats_used: 10, seats_exhausted: 1, devices_reached: 12 }]);
    expect(await db.all('SELECT * FROM group_reach ORDER BY group_id')).toEqual([
      { group_id: 'g0', devices_reached: 3 }, { group_id: 'g1', devices_reached: 0 }, { group_id: 'g2', devices_reached: 12 }]);
  });

  it('a first licence for every device fits each row\'s new version on its page (HOT: no index entry), with ids as long as devlic makes them', async () => {
    // The case of a fleet's first assign-all: unlicensed rows (no product, subscription or group) all becoming licensed,
    // ~50 bytes longer each. At fillfactor 50 about a quarter of them did not fit (bench/README.md, eighth pass).
    const n = 3_000;
    const db = await openPostgres(await cluster().createDatabase());
    open.push(db);
    const ids = Array.from({ length: n }, () => newId('dev'));
    const sub = newId('sub');
    const group = newId('grp');
    await db.run(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at)
      SELECT d, d, d, '', '{}', '{}', ? FROM unnest(?::text[]) AS d`, [AT1, ids as never]);
    await db.run("INSERT INTO products (sku, name, channel, created_at) VALUES ('M365_APPS_ENTERPRISE_DEVICE', 'Apps', 'current', ?)", [AT1]);
    await db.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [group, 'All devices', AT1]);
    await db.run("INSERT INTO subscriptions (id, name, product_sku, seats, created_at, ord) VALUES (?, 'EA', 'M365_APPS_ENTERPRISE_DEVICE', ?, ?, 0)", [sub, n, AT1]);
    const unlicensed = { status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null };
    const licensed = { status: 'licensed', reason: 'LICENSED', product: 'M365_APPS_ENTERPRISE_DEVICE', subscription: sub, group };
    await db.transaction(async (tx) => entitlementQueries(tx).applyChanges({ moves: [{ from: null, to: unlicensed, ids, rows: null }], at: AT1 }));
    const stats = (c: SqlConn) => c.get<{ upd: number; hot: number }>("SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'device_entitlements'");
    const [before, after] = await db.transaction(async (tx) => {
      const b = (await stats(tx))!; // this backend's counts not yet flushed are in it too: compare the difference
      await entitlementQueries(tx).applyChanges({ moves: [{ from: { status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' }, to: licensed, ids, rows: null }], at: AT2 });
      return [b, (await stats(tx))!];
    });
    expect(Number(after.upd) - Number(before.upd)).toBe(n);
    expect(Number(after.hot) - Number(before.hot)).toBe(n);
    expect(await db.get("SELECT COUNT(*) AS n FROM device_entitlements WHERE status = 'licensed' AND subscription_id = ? AND seq = 2", [sub])).toEqual({ n });
  });

  it('storeTokens and the batched reads of a wake do what the per-row reference does, races included (outside a transaction, as the issuer stores)', async () => {
    await checkTokenStore(fresh, false);
  });

  it('allByAnswer groups every device by its answer and flags, and leaves enable_sort as it found it', async () => {
    const n = 300;
    const db = await fresh(n);
    // Answers for 200 of them (the rest have no row yet), some devices disabled or retired.
    await db.transaction(async (tx) => entitlementQueries(tx).applyChanges({ moves: moves(Array.from({ length: 200 }, (_, i) => write(i, i % 4 !== 0)), () => null), at: AT1 }));
    await db.run("UPDATE devices SET disabled = 1 WHERE id IN ('dev_1', 'dev_250')");
    await db.run("UPDATE devices SET retired_at = ? WHERE id IN ('dev_2', 'dev_251')", [AT2]);
    const settings: string[] = [];
    const groups = await db.transaction(async (tx) => {
      const g = await deviceQueries(tx).allByAnswer();
      settings.push((await tx.get<{ v: string }>("SELECT current_setting('enable_sort') AS v"))!.v);
      await tx.run('SET LOCAL enable_sort = off'); // a site's own choice stays as it was
      await deviceQueries(tx).allByAnswer();
      settings.push((await tx.get<{ v: string }>("SELECT current_setting('enable_sort') AS v"))!.v);
      return g;
    });
    expect(settings).toEqual(['on', 'off']);
    expect((await db.get<{ v: string }>("SELECT current_setting('enable_sort') AS v"))!.v).toBe('on'); // local to that transaction
    const want = new Map((await db.all<Record<string, unknown>>(`SELECT d.id, d.key, e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled,
      (d.retired_at IS NOT NULL)::int AS retired FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id`)).map((r) => [r.id, r]));
    let seen = 0;
    for (const g of groups) {
      expect(g.keys).toHaveLength(g.ids.length);
      g.ids.forEach((id, j) => {
        const { id: _, ...w } = want.get(id)!;
        const { keys, ids, rows, ...answer } = g;
        expect({ ...answer, key: keys[j] }, id).toEqual({ ...w, key: Number(w.key) });
        seen++;
      });
    }
    expect(seen).toBe(n);
    expect(groups.length).toBeGreaterThan(5); // licensed through 2 subscriptions x 3 groups, unlicensed, no row, disabled, retired
  });
});
