// Recomputes every device's entitlement from the licensing data and writes
// only the differences, bumping each changed device's `seq` so agents can
// tell a newer answer from an older one. Runs inside the caller's transaction.
import type { DB } from '../store/db.ts';
import { allocateSeats, type AllocInput } from './allocate.ts';

export function loadAllocInput(db: DB, now: number): AllocInput {
  return {
    now,
    subscriptions: (db.prepare('SELECT id, product_sku, seats, term_end, suspended, ord FROM subscriptions').all() as any[])
      .map((r) => ({ id: r.id, productSku: r.product_sku, seats: r.seats, termEnd: r.term_end ? Date.parse(r.term_end) : null, suspended: !!r.suspended, ord: r.ord })),
    assignments: (db.prepare('SELECT subscription_id, group_id FROM assignments').all() as any[])
      .map((r) => ({ subscriptionId: r.subscription_id, groupId: r.group_id })),
    edges: (db.prepare('SELECT parent_id, child_id FROM group_children').all() as any[])
      .map((r) => ({ parent: r.parent_id, child: r.child_id })),
    memberships: (db.prepare('SELECT group_id, device_id, ord FROM group_members').all() as any[])
      .map((r) => ({ groupId: r.group_id, deviceId: r.device_id, ord: r.ord })),
    devices: (db.prepare('SELECT id, disabled, retired_at FROM devices').all() as any[])
      .map((r) => ({ id: r.id, disabled: !!r.disabled, retired: r.retired_at !== null })),
  };
}

/** What a recompute did: every device whose row changed, and of those the ones that lost or got a seat. */
export interface Recomputed { changed: string[]; lostSeat: string[]; gotSeat: string[] }

export function recomputeEntitlements(db: DB, now: number): string[] {
  return recompute(db, now).changed;
}

export function recompute(db: DB, now: number): Recomputed {
  const alloc = allocateSeats(loadAllocInput(db, now));
  const existing = new Map<string, any>();
  for (const r of db.prepare('SELECT device_id, seq, status, reason, product_sku, subscription_id, group_id FROM device_entitlements').all() as any[]) {
    existing.set(r.device_id, r);
  }
  const at = new Date(now).toISOString();
  const insert = db.prepare(`INSERT INTO device_entitlements (device_id, seq, status, reason, product_sku, subscription_id, group_id, changed_at)
    VALUES (?, 1, ?, ?, ?, ?, ?, ?)`);
  const update = db.prepare(`UPDATE device_entitlements SET seq = seq + 1, status = ?, reason = ?, product_sku = ?, subscription_id = ?, group_id = ?,
    changed_at = ?, token = NULL, token_iat = NULL WHERE device_id = ?`);
  db.prepare('DELETE FROM subscription_usage').run();
  const usage = db.prepare('INSERT INTO subscription_usage (subscription_id, seats_used, seats_exhausted, devices_reached) VALUES (?, ?, ?, ?)');
  for (const [id, u] of alloc.subscriptions) usage.run(id, u.seatsUsed, u.seatsExhausted, u.devicesReached);
  db.prepare('DELETE FROM group_reach').run();
  const reach = db.prepare('INSERT INTO group_reach (group_id, devices_reached) VALUES (?, ?)');
  for (const [id, n] of alloc.groupsReached) reach.run(id, n);
  const changed: string[] = [];
  const lostSeat: string[] = [];
  const gotSeat: string[] = [];
  for (const [deviceId, e] of alloc.devices) {
    const old = existing.get(deviceId);
    if (!old) {
      insert.run(deviceId, e.status, e.reason, e.product, e.subscription, e.group, at);
      changed.push(deviceId);
      if (e.status === 'licensed') gotSeat.push(deviceId);
    } else if (old.status !== e.status || old.reason !== e.reason || old.product_sku !== e.product
      || old.subscription_id !== e.subscription || old.group_id !== e.group) {
      update.run(e.status, e.reason, e.product, e.subscription, e.group, at, deviceId);
      changed.push(deviceId);
      if (old.status === 'licensed' && e.status !== 'licensed') lostSeat.push(deviceId);
      if (old.status !== 'licensed' && e.status === 'licensed') gotSeat.push(deviceId);
    }
  }
  return { changed, lostSeat, gotSeat };
}
