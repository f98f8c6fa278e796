// Keyset pages of the device list (after=cursor): walking every page by the
// previous page's `next` yields every device exactly once while devices
// enroll and leave during the walk, on the backend under test; the same walk
// by offset skips a device when one already seen leaves, which is why the
// cursor is the preferred way. Bad cursors are refused and change nothing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStore, type Store } from '../../service/store/store.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { openSqlDatabase } from '../../service/store/open.ts';
import { deviceQueries } from '../../service/store/queries/devices.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { listDevices } from '../../service/licensing/views.ts';
import { encodeDeviceCursor } from '../../service/licensing/device-cursor.ts';
import type { DeviceListQuery } from '../../shared/schemas/fleet.ts';
import { seedFleet } from '../../bench/seed-fleet.ts';
import { tempDir } from '../helpers/processes.ts';
import { databaseFor } from '../helpers/test-backend.ts';

const SEEDED = 250;
let db: SqlDatabase;
let store: Store;
let enrolled = 0;

beforeAll(async () => {
  const dataDir = join(tempDir('device-cursor'), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  db = await openSqlDatabase({ dataDir, database: await databaseFor(dataDir), databasePoolSize: 4 });
  store = createStore(db);
  await seedCatalogue(store, new Date().toISOString());
  // Every seeded device has the same enrolled_at: pages must break the tie by id.
  await seedFleet(db, { devices: SEEDED, groups: 3 });
});

afterAll(async () => {
  await db?.close();
});

/** A device enrolling now (a later enrolled_at than any seeded one). */
async function enroll(): Promise<string> {
  const id = `dev_new_${enrolled++}`;
  await deviceQueries(db).insert({
    id, name: id, machineIdHash: id, hardwareUuid: '', facts: '{}', publicKey: '{}', enrolledAt: new Date(Date.now() + 1000 + enrolled).toISOString(), duplicateOf: null,
  });
  return id;
}

it('walking by cursor yields every device once while others enroll and one already seen leaves', async () => {
  const startIds = new Set((await listDevices(store, { limit: 1000 })).items.map((d) => d.id));
  expect(startIds.size).toBe(SEEDED);
  const seen: string[] = [];
  const newIds: string[] = [];
  let next: string | null | undefined;
  let pages = 0;
  do {
    const query: DeviceListQuery = { limit: 40, ...(next ? { after: next } : {}) };
    // The page is read while devices enroll (and, once, a device already listed is deleted).
    const [page, more] = await Promise.all([
      listDevices(store, query),
      pages < 5 ? Promise.all([enroll(), enroll(), enroll()]) : Promise.resolve([]),
      pages === 2 ? deviceQueries(db).delete(seen[0]) : Promise.resolve(),
    ]);
    newIds.push(...more);
    seen.push(...page.items.map((d) => d.id));
    next = page.next;
    pages++;
    expect(pages).toBeLessThan(100);
  } while (next);
  expect(new Set(seen).size).toBe(seen.length); // nobody twice
  for (const id of startIds) expect(seen, id).toContain(id); // every device there at the start, the deleted one included (seen before it left)
  for (const id of newIds) expect(seen, id).toContain(id); // enrolments append to the order: the walk reaches them
  expect(seen.length).toBe(SEEDED + newIds.length);
});

it('the same walk by offset skips a device when one already listed leaves (the cursor does not)', async () => {
  const all = (await listDevices(store, { limit: 1000 })).items.map((d) => d.id);
  const walk = async (byCursor: boolean) => {
    const seen: string[] = [];
    let next: string | null = null;
    for (let page = 0; page < 100; page++) {
      const r = await listDevices(store, byCursor ? { limit: 50, ...(next ? { after: next } : {}) } : { limit: 50, offset: page * 50 });
      seen.push(...r.items.map((d) => d.id));
      if (page === 0) await deviceQueries(db).delete(seen[byCursor ? 1 : 0]);
      next = r.next;
      if (r.items.length < 50 || (byCursor && !next)) break;
    }
    return seen;
  };
  const byOffset = await walk(false);
  expect(byOffset.length).toBe(all.length - 1);
  expect(all.filter((id) => !byOffset.includes(id))).toEqual([all[50]]); // the first of page 2 slid onto page 1 unseen
  const byCursor = await walk(true);
  expect(byCursor).toEqual(all.filter((id) => id !== all[0]));
});

it('a filtered walk by cursor gives the filter\'s devices in the order of one long page', async () => {
  await db.run('UPDATE devices SET retired_at = ? WHERE id IN (?, ?, ?)', [new Date().toISOString(), 'dev_fleet_3', 'dev_fleet_30', 'dev_fleet_99']);
  const whole = (await listDevices(store, { retired: 'false', limit: 1000 })).items.map((d) => d.id);
  const paged: string[] = [];
  let next: string | null = null;
  do {
    const r = await listDevices(store, { retired: 'false', limit: 7, ...(next ? { after: next } : {}) });
    paged.push(...r.items.map((d) => d.id));
    next = r.next;
  } while (next);
  expect(paged).toEqual(whole);
  expect(whole).not.toContain('dev_fleet_30');
});

it('later pages of a walk repeat the first page\'s total with when it was counted, instead of counting again', async () => {
  const filter = { retired: 'false' } as const; // counted by a scan of the fleet, not from entitlement_counts
  const first = await listDevices(store, { ...filter, limit: 10 });
  expect(first.totalAsOf).toBeNull();
  const counted = first.total;
  await enroll(); // the filter's true count is now one more
  const second = await listDevices(store, { ...filter, limit: 10, after: first.next! });
  expect(second.total).toBe(counted);
  expect(second.totalAsOf).not.toBeNull();
  expect(Date.parse(second.totalAsOf!)).toBeLessThanOrEqual(Date.now());
  const third = await listDevices(store, { ...filter, limit: 10, after: second.next! });
  expect([third.total, third.totalAsOf]).toEqual([counted, second.totalAsOf]);
  // A new walk (and a page by offset) counts now.
  const again = await listDevices(store, { ...filter, limit: 10 });
  expect([again.total, again.totalAsOf]).toEqual([counted + 1, null]);
  expect((await listDevices(store, { ...filter, limit: 10, offset: 10 })).total).toBe(counted + 1);
  // recount: that page counts again (the console's views), and its own next carries the new count.
  const fresh = await listDevices(store, { ...filter, limit: 10, after: second.next!, recount: 'true' });
  expect([fresh.total, fresh.totalAsOf]).toEqual([counted + 1, null]);
  expect((await listDevices(store, { ...filter, limit: 10, after: fresh.next! })).total).toBe(counted + 1);
  // The cursor given with another filter: that page counts its own filter.
  const other = await listDevices(store, { limit: 10, after: first.next! });
  expect([other.total, other.totalAsOf]).toEqual([(await listDevices(store, { limit: 1 })).total, null]);
  expect(other.total).not.toBe(counted);
  // A filter that resolves against the clock (staleMinutes) keeps its walk's total too, parameters in any order.
  // (Pages read as if 10 days later, a second apart: every device is stale by then.)
  const later = Date.now() + 10 * 86_400_000;
  const stale = await listDevices(store, { staleMinutes: 60, retired: 'false', limit: 10 }, later);
  expect(stale.total).toBe(counted + 1);
  const staleNext = await listDevices(store, { retired: 'false', limit: 10, staleMinutes: 60, after: stale.next! }, later + 1000);
  expect([staleNext.total, staleNext.totalAsOf]).toEqual([stale.total, new Date(later).toISOString()]);
  // A cursor of the older form (no total) is still taken, and that page counts.
  const old = encodeDeviceCursor({ enrolledAt: '2000-01-01T00:00:00.000Z', id: 'a' });
  const page = await listDevices(store, { ...filter, limit: 5, after: old });
  expect([page.items.length, page.total, page.totalAsOf]).toEqual([5, counted + 1, null]);
});

it('a cursor it did not make, or a cursor with an offset, is refused with BAD_REQUEST', async () => {
  const forged = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
  const at = '2026-01-01T00:00:00.000Z';
  for (const after of ['not a cursor!', 'bm90IGpzb24', encodeDeviceCursor({ enrolledAt: 'x', id: 'y' }).slice(0, -2) + '!!', Buffer.from('["a"]').toString('base64url'),
    Buffer.from(JSON.stringify(['a', 'x'.repeat(300)])).toString('base64url'),
    forged(['a', 'b', -1, at, 'f']), forged(['a', 'b', 1.5, at, 'f']), forged(['a', 'b', '7', at, 'f']), forged(['a', 'b', 7, 'yesterday', 'f']), forged(['a', 'b', 7, at]), forged(['a', 'b', 7, at, '']), forged(['a', 'b', 7, at, 'f', 'x'])]) {
    await expect(listDevices(store, { after }), after).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  }
  const ok = encodeDeviceCursor({ enrolledAt: '2000-01-01T00:00:00.000Z', id: 'a' });
  expect((await listDevices(store, { after: ok, limit: 5 })).items).toHaveLength(5);
  await expect(listDevices(store, { after: ok, offset: 0 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
});
