// The device list's total and its pages (licensing/views.ts over
// store/queries/views.ts) on the backend under test: the count takes
// shortcuts (no join when the entitlement is not asked about, "unlicensed" as
// all minus licensed), so for every combination of filters the total must
// equal the number of devices the unpaged list returns, and that list must
// be exactly the devices a plain JavaScript filter over the whole fleet picks.
// Pages walk the enrolment order: consecutive pages must tile the full list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStore, type Store } from '../../service/store/store.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { openSqlDatabase } from '../../service/store/open.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../../service/licensing/context.ts';
import { createSubscription } from '../../service/licensing/subscriptions.ts';
import { assign, unassign } from '../../service/licensing/assignments.ts';
import { deleteDevice, retireDevice } from '../../service/licensing/lifecycle.ts';
import { listDevices } from '../../service/licensing/views.ts';
import type { DeviceListQuery, DeviceView } from '../../shared/schemas/fleet.ts';
import { seedFleet } from '../../bench/seed-fleet.ts';
import { tempDir } from '../helpers/processes.ts';
import { databaseFor } from '../helpers/test-backend.ts';

const DEVICES = 60;
const NOW = Date.parse('2026-06-01T12:00:00Z');
let db: SqlDatabase;
let store: Store;
let ctx: LicensingContext;
let all: DeviceView[];

beforeAll(async () => {
  const dataDir = join(tempDir('list-counts'), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  db = await openSqlDatabase({ dataDir, database: await databaseFor(dataDir), databasePoolSize: 2 });
  store = createStore(db);
  await seedCatalogue(store, new Date(NOW).toISOString());
  // 60 devices round-robin in 4 groups under "All devices"; enrolment times differ so the order is not just by id.
  await seedFleet(db, { devices: DEVICES, groups: 4 });
  ctx = new LicensingContext(store, () => NOW);
  // 25 seats for the 30 devices of groups 0 and 2: some seated, some SEATS_EXHAUSTED, the rest not in a licensed group.
  const ea = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 25, name: 'EA' });
  await assign(ctx, SYSTEM_ACTOR, ea, 'Fleet group 0');
  await assign(ctx, SYSTEM_ACTOR, ea, 'Fleet group 2', true);
  for (const id of ['dev_fleet_0', 'dev_fleet_7', 'dev_fleet_13']) await retireDevice(ctx, SYSTEM_ACTOR, id, true);
  // Planted states the API cannot make directly: reported modes, last-seen times, enrolment order, and one device without an entitlement row.
  for (let i = 0; i < DEVICES; i++) {
    const mode = i % 3 === 0 ? 'read-only' : i % 3 === 1 ? 'full' : null;
    // Enforcement health as the report writes it: every enforcer holds, one does not, or not said (an older agent).
    const enforcement = !mode || i % 4 === 3 ? undefined
      : [{ enforcer: 'file', ok: true }, ...(i % 4 === 1 ? [{ enforcer: 'libreoffice', ok: false, reason: 'too old' }] : [])];
    const enforced = enforcement ? (enforcement.every((e) => e.ok) ? 'ok' : 'failing') : null;
    await db.run('UPDATE devices SET enrolled_at = ?, last_mode = ?, last_report = ?, last_enforced = ?, last_seen_at = ? WHERE id = ?', [
      new Date(NOW - ((i * 7) % DEVICES) * 60_000).toISOString(), mode, mode ? JSON.stringify({ mode, enforcement }) : null, enforced,
      i % 5 === 0 ? null : new Date(NOW - (i % 4) * 3_600_000).toISOString(), `dev_fleet_${i}`]);
  }
  await db.run("DELETE FROM device_entitlements WHERE device_id = 'dev_fleet_9'");
  all = (await listDevices(store, { limit: 1000 }, NOW)).items;
});

afterAll(async () => {
  await db?.close();
});

/** The filters as a plain predicate over a listed device (what the SQL must agree with). */
function matches(d: DeviceView, f: DeviceListQuery): boolean {
  if (f.licensed === 'true' && !d.licensed) return false;
  if (f.licensed === 'false' && d.licensed) return false;
  if (f.reason && d.reason !== f.reason) return false;
  if (f.subscription && d.subscription?.name !== f.subscription) return false;
  if (f.group && !d.groups.some((g) => g.name === f.group)) return false;
  if (f.mode && d.lastMode !== f.mode) return false;
  if (f.enforced && ({ true: true, false: false, unknown: null } as const)[f.enforced] !== d.enforcement.ok) return false;
  if (f.retired === 'true' && !d.retired) return false;
  if (f.retired === 'false' && d.retired) return false;
  if (f.q && !d.name.toLowerCase().includes(f.q.toLowerCase()) && d.id !== f.q) return false;
  if (f.staleMinutes && Date.parse(d.lastSeenAt ?? d.enrolledAt) >= NOW - f.staleMinutes * 60_000) return false;
  return true;
}

describe('device list totals and pages', () => {
  it('the fleet has every state the filters tell apart', () => {
    expect(all).toHaveLength(DEVICES);
    const reasons = new Set(all.map((d) => d.reason));
    for (const r of ['ASSIGNED', 'SEATS_EXHAUSTED', 'NOT_IN_LICENSED_GROUP', 'DEVICE_RETIRED']) expect(reasons).toContain(r);
    expect(new Set(all.map((d) => d.enforcement.ok))).toEqual(new Set([true, false, null]));
    expect(all.find((d) => d.id === 'dev_fleet_9')!.entitlementSeq).toBe(0); // no entitlement row: listed as unlicensed
    // enrolment order, not id order
    expect(all.map((d) => d.enrolledAt)).toEqual(all.map((d) => d.enrolledAt).sort());
    expect(all.map((d) => d.id)).not.toEqual(all.map((d) => d.id).sort());
  });

  it('for every combination of filters the total is the number of devices listed, and they are the ones the filters pick', async () => {
    let checked = 0;
    for (const licensed of [undefined, 'true', 'false'] as const)
      for (const reason of [undefined, 'SEATS_EXHAUSTED', 'ASSIGNED'] as const)
        for (const subscription of [undefined, 'EA'])
          for (const group of [undefined, 'Fleet group 2'])
            for (const retired of [undefined, 'true', 'false'] as const)
              for (const mode of [undefined, 'read-only'] as const)
                for (const extra of [{}, { q: 'host-1' }, { staleMinutes: 90 }, { enforced: 'false' }, { enforced: 'unknown' }, { enforced: 'true' }] as DeviceListQuery[]) {
                  const f: DeviceListQuery = { licensed, reason, subscription, group, retired, mode, ...extra };
                  for (const k of Object.keys(f) as (keyof DeviceListQuery)[]) if (f[k] === undefined) delete f[k];
                  const r = await listDevices(store, { ...f, limit: 1000 }, NOW);
                  const want = all.filter((d) => matches(d, f)).map((d) => d.id);
                  expect(r.items.map((d) => d.id), JSON.stringify(f)).toEqual(want);
                  expect(r.total, JSON.stringify(f)).toBe(want.length);
                  checked++;
                }
    expect(checked).toBe(3 * 3 * 2 * 2 * 3 * 2 * 6);
  });

  it('pages of 7 tile the full list in order, each with the same total', async () => {
    for (const licensed of [undefined, 'true', 'false'] as const) {
      const full = all.filter((d) => matches(d, { licensed })).map((d) => d.id);
      const seen: string[] = [];
      for (let offset = 0; offset < full.length + 7; offset += 7) {
        const r = await listDevices(store, { ...(licensed ? { licensed } : {}), limit: 7, offset }, NOW);
        expect(r.total).toBe(full.length);
        seen.push(...r.items.map((d) => d.id));
      }
      expect(seen).toEqual(full);
    }
  });

  // Last: it changes the fleet. The triggers' counts (what the totals above read) against a plain GROUP BY after
  // every kind of write to device_entitlements: recompute inserts and updates, a device's delete, a row deleted by hand.
  it('entitlement_counts stays the grouped count of the rows through recomputes, deletes and a hand-made delete', async () => {
    const counts = async () => (await db.all<{ status: string; reason: string; n: number }>(
      'SELECT status, reason, n FROM entitlement_counts WHERE n <> 0 ORDER BY status, reason')).map((r) => ({ ...r, n: Number(r.n) }));
    const grouped = async () => (await db.all<{ status: string; reason: string; n: number }>(
      'SELECT status, reason, COUNT(*) AS n FROM device_entitlements GROUP BY status, reason ORDER BY status, reason')).map((r) => ({ ...r, n: Number(r.n) }));
    const before = await grouped();
    expect(before.some((r) => r.status === 'licensed')).toBe(true);
    expect(await counts()).toEqual(before);
    await unassign(ctx, SYSTEM_ACTOR, 'EA', 'Fleet group 0', true);
    await deleteDevice(ctx, SYSTEM_ACTOR, 'dev_fleet_7');
    await db.run("DELETE FROM device_entitlements WHERE device_id = 'dev_fleet_13'");
    const after = await grouped();
    expect(after).not.toEqual(before);
    expect(await counts()).toEqual(after);
    await assign(ctx, SYSTEM_ACTOR, 'EA', 'Fleet group 0', true); // inserts the missing rows again
    expect(await counts()).toEqual(await grouped());
    expect((await grouped()).reduce((n, r) => n + r.n, 0)).toBe(DEVICES - 1);
  });
});
