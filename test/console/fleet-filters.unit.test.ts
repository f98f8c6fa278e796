// The fleet view's "stale" filter needs time to pass, so it is checked here on
// the read model with a controlled clock (a real SQLite file, no server):
// enrolling counts as being seen, each report moves last-seen forward.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import { createStore } from '../../service/store/store.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../../service/licensing/context.ts';
import { createEnrollToken } from '../../service/licensing/access.ts';
import { enrollDevice, recordReport } from '../../service/licensing/devices.ts';
import { listDevices } from '../../service/licensing/views.ts';
import { fakeFacts } from '../helpers/sim-device.ts';
import { tempDir } from '../helpers/processes.ts';

const dir = tempDir('fleet-filters');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('counts a device as stale when neither enrolment nor any report is newer than N minutes', async () => {
  const MIN = 60_000;
  const t0 = Date.parse('2026-03-01T08:00:00Z');
  let now = t0;
  const db = createStore(openSqlite(join(dir, 'devlic.db')));
  const ctx = new LicensingContext(db, () => now);
  await seedCatalogue(db, ctx.nowIso());
  const { token } = await createEnrollToken(ctx, SYSTEM_ACTOR, { uses: 2 });
  const key = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: 'A'.repeat(43) };
  const a = (await enrollDevice(ctx, { token, facts: fakeFacts('quiet'), publicKey: key })).deviceId;
  now = t0 + 10 * MIN;
  const b = (await enrollDevice(ctx, { token, facts: fakeFacts('chatty'), publicKey: key })).deviceId;
  const stale = async (minutes: number) => (await listDevices(db, { staleMinutes: minutes }, now)).items.map((d) => d.id);

  now = t0 + 20 * MIN;
  expect(await stale(15)).toEqual([a]); // enrolled 20 min ago, never reported
  expect(await stale(5)).toEqual([a, b]);
  await recordReport(ctx, a, { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: [], agentVersion: 't', lastError: null, cacheExpiresAt: null, entitlementSeq: null });
  expect(await stale(5)).toEqual([b]); // its report just now counts
  expect((await listDevices(db, { staleMinutes: 5, mode: 'read-only' }, now)).total).toBe(0);
  expect((await listDevices(db, { mode: 'read-only' }, now)).items.map((d) => d.id)).toEqual([a]);
  await db.close();
});
