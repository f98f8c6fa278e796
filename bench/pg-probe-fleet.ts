// The fleet the PostgreSQL probes (pg-read-probe.ts, pg-write-probe.ts) time
// their statements on: N seeded devices in 1,000 groups and one subscription
// with a seat for each, in a database of the bench cluster, closed again so
// the probe talks to it through its own plain `pg` clients.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../service/licensing/context.ts';
import { createSubscription } from '../service/licensing/subscriptions.ts';
import { assign } from '../service/licensing/assignments.ts';
import { tempDir } from '../test/helpers/processes.ts';
import { seedFleet } from './seed-fleet.ts';
import { benchDatabase, openBenchDatabase } from './backend.ts';

/** assigned: the subscription assigned to all devices before the probe starts (else every device is unlicensed). */
export async function seedProbeFleet(tag: string, devices: number, assigned = false): Promise<{ url: string; subscription: string }> {
  const dataDir = join(tempDir(tag), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const url = (await benchDatabase('postgres'))!;
  const db = await openBenchDatabase(dataDir, url);
  await seedCatalogue(createStore(db), new Date().toISOString());
  await seedFleet(db, { devices, groups: 1000 });
  const ctx = new LicensingContext(createStore(db));
  const subscription = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: devices, name: 'Fleet EA' });
  if (assigned) await assign(ctx, SYSTEM_ACTOR, subscription, 'All devices');
  await db.close();
  return { url, subscription };
}
