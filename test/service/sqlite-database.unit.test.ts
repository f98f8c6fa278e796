// The SQLite SqlDatabase (service/store/sqlite/open.ts) against the contract
// in service/store/sql.ts, on a real file: a throw rolls back, outer reads
// wait for an open transaction instead of seeing its uncommitted rows, using
// the outer connection (or a nested transaction) inside a transaction throws
// TX_MISUSE instead of deadlocking, changed() reaches listeners only after
// COMMIT, and integers come back as numbers.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import type { Changed, SqlDatabase } from '../../service/store/sql.ts';
import { tempDir } from '../helpers/processes.ts';

let db: SqlDatabase;
const AT = '2026-03-01T08:00:00.000Z';
const addGroup = (c: { run: SqlDatabase['run'] }, id: string) => c.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [id, id, AT]);
const groupIds = async () => (await db.all<{ id: string }>('SELECT id FROM groups ORDER BY id')).map((r) => r.id);

beforeEach(() => { db = openSqlite(join(tempDir('sqlite-db'), 'devlic.db')); });
afterEach(async () => { await db.close(); });

it('migrates to the current schema and reports its dialect', async () => {
  expect(db.dialect).toBe('sqlite');
  expect(await db.get('SELECT COUNT(*) AS n FROM device_entitlements')).toEqual({ n: 0 });
});

it('commits a transaction\'s writes and returns its result; a throw rolls every write back', async () => {
  expect(await db.transaction(async (tx) => { await addGroup(tx, 'grp_a'); return 'done'; })).toBe('done');
  await expect(db.transaction(async (tx) => {
    await addGroup(tx, 'grp_b');
    expect((await tx.all('SELECT id FROM groups')).length).toBe(2);
    throw new Error('boom');
  })).rejects.toThrow('boom');
  expect(await groupIds()).toEqual(['grp_a']);
  // The lock was released: the next transaction runs.
  await db.transaction(async (tx) => { await addGroup(tx, 'grp_c'); });
  expect(await groupIds()).toEqual(['grp_a', 'grp_c']);
});

it('makes outer reads wait for an open transaction, so they never see its uncommitted rows', async () => {
  let inside!: () => void;
  const written = new Promise<void>((r) => { inside = r; });
  let finish!: () => void;
  const release = new Promise<void>((r) => { finish = r; });
  const tx = db.transaction(async (t) => {
    await addGroup(t, 'grp_pending');
    inside();
    await release;
  });
  await written;
  let seen: string[] | null = null;
  const read = groupIds().then((ids) => { seen = ids; });
  // Give the outer read every chance to run early; it must still be waiting.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  expect(seen).toBeNull();
  finish();
  await tx;
  await read;
  expect(seen).toEqual(['grp_pending']);
});

it('throws TX_MISUSE when a transaction uses the outer connection or opens another transaction', async () => {
  await expect(db.transaction(async () => { await db.get('SELECT 1 AS x'); })).rejects.toMatchObject({ code: 'TX_MISUSE' });
  await expect(db.transaction(async () => { await db.transaction(async () => 1); })).rejects.toMatchObject({ code: 'TX_MISUSE' });
  // Still usable afterwards.
  expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
});

it('serialises transactions: the second starts after the first commits', async () => {
  const order: string[] = [];
  let finish!: () => void;
  const release = new Promise<void>((r) => { finish = r; });
  const first = db.transaction(async (tx) => { order.push('first:start'); await addGroup(tx, 'grp_1'); await release; order.push('first:end'); });
  const second = db.transaction(async (tx) => {
    order.push('second:start');
    return (await tx.all<{ id: string }>('SELECT id FROM groups')).map((r) => r.id);
  });
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  finish();
  await first;
  expect(await second).toEqual(['grp_1']);
  expect(order).toEqual(['first:start', 'first:end', 'second:start']);
});

it('delivers changed() ids to onChanged listeners after COMMIT only, and not at all after a rollback', async () => {
  const got: Changed[] = [];
  db.onChanged((ids) => got.push(ids));
  await db.transaction(async (tx) => {
    tx.changed(['dev_a', 'dev_b']);
    tx.changed(['dev_b', 'dev_c']);
    await addGroup(tx, 'grp_x');
    expect(got).toEqual([]);
  });
  expect(got).toEqual([['dev_a', 'dev_b', 'dev_c']]);
  await expect(db.transaction(async (tx) => { tx.changed(['dev_z']); throw new Error('no'); })).rejects.toThrow('no');
  await db.transaction(async () => {});
  expect(got).toEqual([['dev_a', 'dev_b', 'dev_c']]);
});

it('returns integers, counts and sums as JS numbers, and changes as a number', async () => {
  await addGroup(db, 'grp_n');
  await db.run('INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ['dev_n', 'n', 'h', 'u', '{}', '{}', AT]);
  expect(await db.run('INSERT INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)', ['grp_n', 'dev_n', AT])).toEqual({ changes: 1 });
  const row = await db.get<{ n: unknown; s: unknown; ord: unknown }>('SELECT COUNT(*) AS n, SUM(ord) AS s, MAX(ord) AS ord FROM group_members');
  expect(typeof row!.n).toBe('number');
  expect(typeof row!.s).toBe('number');
  expect(typeof row!.ord).toBe('number');
  expect(row!.n).toBe(1);
  expect(await db.run('DELETE FROM group_members WHERE group_id = ?', ['nothing'])).toEqual({ changes: 0 });
});

it('runMany runs one statement per row in order, sums the changes, and rolls back with its transaction', async () => {
  await db.run('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)');
  expect(await db.runMany('INSERT INTO t (k, v) VALUES (?, ?)', [['a', 1], ['b', 2]])).toEqual({ changes: 2 });
  await expect(db.transaction(async (tx) => {
    expect(await tx.runMany('UPDATE t SET v = v + ? WHERE k = ?', [[10, 'a'], [10, 'b'], [10, 'nobody']])).toEqual({ changes: 2 });
    await tx.runMany('INSERT INTO t (k, v) VALUES (?, ?)', [['c', 3], ['a', 4]]); // 'a' again: the second row fails
  })).rejects.toThrow(/UNIQUE/);
  expect(await db.all('SELECT k, v FROM t ORDER BY k')).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
});
