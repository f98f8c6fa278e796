// The impact an unconfirmed change reports: how many devices lose a seat and
// a sample of the first 20 of them with their names, now read in one query
// (devices.namesOf) instead of one per device. Checked on the backend under
// test against the seeded names, in the order the recompute found them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStore, type Store } from '../../service/store/store.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { openSqlDatabase } from '../../service/store/open.ts';
import { deviceQueries } from '../../service/store/queries/devices.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../../service/licensing/context.ts';
import { createSubscription } from '../../service/licensing/subscriptions.ts';
import { assign, unassign } from '../../service/licensing/assignments.ts';
import { seedFleet } from '../../bench/seed-fleet.ts';
import { tempDir } from '../helpers/processes.ts';
import { databaseFor } from '../helpers/test-backend.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
let db: SqlDatabase;
let store: Store;

beforeAll(async () => {
  const dataDir = join(tempDir('impact-sample'), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  db = await openSqlDatabase({ dataDir, database: await databaseFor(dataDir), databasePoolSize: 2 });
  store = createStore(db);
  await seedCatalogue(store, new Date(NOW).toISOString());
  await seedFleet(db, { devices: 30, groups: 1 });
  await db.run('UPDATE devices SET name = ? WHERE id = ?', ['cart "7", it\'s', 'dev_fleet_7']);
});

afterAll(async () => {
  await db?.close();
});

it('namesOf gives the names of the ids it knows and leaves the others out', async () => {
  const names = await deviceQueries(db).namesOf(['dev_fleet_2', 'nope', 'dev_fleet_7']);
  expect([...names]).toEqual(expect.arrayContaining([['dev_fleet_2', 'host-2'], ['dev_fleet_7', 'cart "7", it\'s']]));
  expect(names.size).toBe(2);
  expect((await deviceQueries(db).namesOf([])).size).toBe(0);
});

it('an unconfirmed unassign of 30 holders reports all 30 and the first 20 with their names, and changes nothing', async () => {
  const ctx = new LicensingContext(store, () => NOW);
  const ea = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 30, name: 'EA' });
  await assign(ctx, SYSTEM_ACTOR, ea, 'All devices');
  const err = await unassign(ctx, SYSTEM_ACTOR, 'EA', 'All devices').then(() => null, (e: unknown) => e);
  expect(err).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
  const impact = (err as { details: { impact: { devices: number; devicesGainingSeat: number; sample: { id: string; name: string }[] } } }).details.impact;
  expect(impact.devices).toBe(30);
  expect(impact.devicesGainingSeat).toBe(0);
  expect(impact.sample).toHaveLength(20);
  expect(new Set(impact.sample.map((d) => d.id)).size).toBe(20);
  for (const d of impact.sample) expect(d.name).toBe(d.id === 'dev_fleet_7' ? 'cart "7", it\'s' : d.id.replace('dev_fleet_', 'host-'));
  const licensed = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM device_entitlements WHERE status = 'licensed'");
  expect(licensed!.n).toBe(30);
});
