// A device's end of life: retired (by an admin, or by the stale-device timer
// when it has not been seen for a while), restored, or deleted once retired.
// A retired device stays listed with who/when and holds no seat: its agent
// gets a signed unlicensed entitlement with reason DEVICE_RETIRED and goes
// read-only, and a restore licenses it again through the same long-poll.
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext, SYSTEM_ACTOR } from './context.ts';
import { resolveRef } from './resolve.ts';

function retiredAt(ctx: LicensingContext, id: string): string | null {
  return (ctx.db.prepare('SELECT retired_at FROM devices WHERE id = ?').get(id) as { retired_at: string | null }).retired_at;
}

export function retireDevice(ctx: LicensingContext, actor: Actor, ref: string, confirm: boolean): string {
  return ctx.mutate(actor, () => {
    const id = resolveRef(ctx.db, 'device', ref);
    const at = retiredAt(ctx, id);
    if (at) throw new DevlicError('CONFLICT', `device '${ref}' was already retired at ${at}`);
    ctx.db.prepare("UPDATE devices SET retired_at = ?, retired_by_id = ?, retired_by_name = ?, retired_reason = 'admin' WHERE id = ?")
      .run(ctx.nowIso(), actor.id, actor.name, id);
    return { result: id, action: 'device.retire', target: id, details: { reason: 'admin' } };
  }, { confirm });
}

/** Guarded: the device rejoins the seat race in its old place, which can take the seat of a device that got it meanwhile. */
export function restoreDevice(ctx: LicensingContext, actor: Actor, ref: string, confirm: boolean): string {
  return ctx.mutate(actor, () => {
    const id = resolveRef(ctx.db, 'device', ref);
    const before = ctx.db.prepare('SELECT retired_at, retired_by_name, retired_reason FROM devices WHERE id = ?').get(id) as any;
    if (!before.retired_at) throw new DevlicError('DEVICE_NOT_RETIRED', `device '${ref}' is not retired`);
    ctx.db.prepare('UPDATE devices SET retired_at = NULL, retired_by_id = NULL, retired_by_name = NULL, retired_reason = NULL WHERE id = ?').run(id);
    return { result: id, action: 'device.restore', target: id, details: { retiredAt: before.retired_at, retiredBy: before.retired_by_name, reason: before.retired_reason } };
  }, { confirm });
}

/**
 * Forgets a retired device: its memberships, entitlement, reports and merge
 * history go; the audit log keeps its name. The caller must drop the
 * device's cached authentication: its agent is refused from then on.
 */
export function deleteDevice(ctx: LicensingContext, actor: Actor, ref: string): { id: string; name: string } {
  return ctx.mutate(actor, () => {
    const db = ctx.db;
    const id = resolveRef(db, 'device', ref);
    const row = db.prepare('SELECT name, retired_at FROM devices WHERE id = ?').get(id) as { name: string; retired_at: string | null };
    if (!row.retired_at) {
      throw new DevlicError('DEVICE_NOT_RETIRED', `device '${ref}' is not retired; retire it first (devlic-admin devices retire), then delete it`);
    }
    db.prepare('DELETE FROM group_members WHERE device_id = ?').run(id);
    db.prepare('DELETE FROM device_entitlements WHERE device_id = ?').run(id);
    db.prepare('DELETE FROM device_reports WHERE device_id = ?').run(id);
    const merged = (db.prepare('SELECT retired_id FROM device_merges WHERE device_id = ?').all(id) as { retired_id: string }[]).map((r) => r.retired_id);
    db.prepare('DELETE FROM device_merges WHERE device_id = ?').run(id);
    db.prepare('UPDATE devices SET duplicate_of = NULL WHERE duplicate_of = ?').run(id);
    db.prepare('DELETE FROM devices WHERE id = ?').run(id);
    return {
      result: { id, name: row.name }, action: 'device.delete', target: id,
      details: { name: row.name, retiredAt: row.retired_at, ...(merged.length ? { mergedIds: merged } : {}) },
      // Its long-polls must end now (they then get 401).
      alsoChanged: [id, ...merged],
    };
  });
}

/** Ids of devices in service not seen (last report, else enrollment) since `before`. */
export function staleDevices(ctx: LicensingContext, before: string): string[] {
  return (ctx.db.prepare('SELECT id FROM devices WHERE retired_at IS NULL AND COALESCE(last_seen_at, enrolled_at) < ?').all(before) as { id: string }[])
    .map((r) => r.id);
}

/**
 * Retires every device not seen for `afterMs` (the retireStaleAfter setting),
 * as the system actor, one audit event per device, in one transaction.
 */
export function retireStaleDevices(ctx: LicensingContext, afterMs: number): string[] {
  const before = new Date(ctx.now() - afterMs).toISOString();
  if (staleDevices(ctx, before).length === 0) return [];
  return ctx.mutate(SYSTEM_ACTOR, () => {
    const ids = staleDevices(ctx, before);
    const at = ctx.nowIso();
    const seen = ctx.db.prepare('SELECT name, COALESCE(last_seen_at, enrolled_at) AS seen FROM devices WHERE id = ?');
    const retire = ctx.db.prepare("UPDATE devices SET retired_at = ?, retired_by_id = ?, retired_by_name = ?, retired_reason = 'stale' WHERE id = ?");
    const audit = ctx.db.prepare('INSERT INTO audit (at, actor_id, actor_name, action, target, details) VALUES (?, ?, ?, ?, ?, ?)');
    for (const id of ids) {
      const s = seen.get(id) as { name: string; seen: string };
      retire.run(at, SYSTEM_ACTOR.id, SYSTEM_ACTOR.name, id);
      audit.run(at, SYSTEM_ACTOR.id, SYSTEM_ACTOR.name, 'device.retire', id, JSON.stringify({ reason: 'stale', lastSeenAt: s.seen, staleAfterSeconds: Math.round(afterMs / 1000) }));
    }
    // mutate writes one more event: the run as a whole.
    return { result: ids, action: 'device.retire-stale', target: 'devices', details: { count: ids.length, before } };
  }, { confirm: true });
}
