// Unassign's answer and audit event without reads of their own: the holders
// (devices licensed through that subscription and group) come from the rows
// the recompute loaded, the affected ones are those of them that lost their
// seat. A holder also in another licensed group keeps a seat and is not
// affected. Checked against the device list before and after, on the backend
// under test.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStore, type Store } from '../../service/store/store.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { openSqlDatabase } from '../../service/store/open.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../../service/licensing/context.ts';
import { createSubscription } from '../../service/licensing/subscriptions.ts';
import { assign, unassign } from '../../service/licensing/assignments.ts';
import { addDevices } from '../../service/licensing/groups.ts';
import { listDevices } from '../../service/licensing/views.ts';
import { seedFleet } from '../../bench/seed-fleet.ts';
import { tempDir } from '../helpers/processes.ts';
import { databaseFor } from '../helpers/test-backend.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
let db: SqlDatabase;
let store: Store;

beforeAll(async () => {
  const dataDir = join(tempDir('unassign-affected'), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  db = await openSqlDatabase({ dataDir, database: await databaseFor(dataDir), databasePoolSize: 2 });
  store = createStore(db);
  await seedCatalogue(store, new Date(NOW).toISOString());
  await seedFleet(db, { devices: 12, groups: 2 });
});

afterAll(async () => {
  await db?.close();
});

it('unassign counts the holders that lost their seat, not the ones still licensed through another group', async () => {
  const ctx = new LicensingContext(store, () => NOW);
  const ea = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 20, name: 'EA' });
  await assign(ctx, SYSTEM_ACTOR, ea, 'Fleet group 0');
  await assign(ctx, SYSTEM_ACTOR, ea, 'Fleet group 1');
  // Two devices of group 1 (licensed through it) join group 0 as well: when group 1 goes they keep a seat through group 0.
  await addDevices(ctx, SYSTEM_ACTOR, 'Fleet group 0', ['dev_fleet_1', 'dev_fleet_3']);
  const before = (await listDevices(store, { limit: 1000 }, NOW)).items;
  const holders = before.filter((d) => d.licensed && d.subscription?.name === 'EA' && d.licenseGroup?.name === 'Fleet group 1').map((d) => d.id);
  expect(holders).toEqual(expect.arrayContaining(['dev_fleet_1', 'dev_fleet_3']));
  const r = await unassign(ctx, SYSTEM_ACTOR, 'EA', 'Fleet group 1', true);
  const after = new Map((await listDevices(store, { limit: 1000 }, NOW)).items.map((d) => [d.id, d]));
  const lost = holders.filter((id) => !after.get(id)!.licensed);
  expect(after.get('dev_fleet_1')!.licensed).toBe(true);
  expect(after.get('dev_fleet_3')!.licensed).toBe(true);
  expect(r.devicesAffected).toBe(lost.length);
  expect(lost.length).toBe(holders.length - 2);
  const audit = await db.all<{ details: string }>("SELECT details FROM audit WHERE action = 'license.unassign'");
  expect(audit.map((a) => JSON.parse(a.details).devices)).toEqual([holders.length]);
});
