// The admin's path for a device that lost its key (reinstalled OS, new disk):
// it enrolls as a new device (flagged duplicateOf the old one), and a
// global-admin merges it back: the old id takes the new record's key and
// facts and keeps its own groups, seat and history; the new id is retired and
// remembered, so its agent is told (signed) which id it is now.
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext } from './context.ts';
import { resolveRef } from './resolve.ts';

interface DeviceRow {
  id: string; name: string; machine_id_hash: string; hardware_uuid: string; facts: string; public_key: string;
  last_seen_at: string | null; last_report: string | null; duplicate_of: string | null; enrolled_at: string;
}

/**
 * Merges device `fromRef` (the new record, holding the working key) into
 * `intoRef` (the old id). One transaction with its audit event; the caller
 * must drop cached device authentication for both ids after it returns.
 */
export function mergeDevices(ctx: LicensingContext, actor: Actor, fromRef: string, intoRef: string, force = false): { id: string; retired: string } {
  return ctx.mutate(actor, () => {
    const db = ctx.db;
    const from = resolveRef(db, 'device', fromRef);
    const into = resolveRef(db, 'device', intoRef);
    if (from === into) throw new DevlicError('BAD_REQUEST', `cannot merge device ${from} into itself`);
    const get = db.prepare('SELECT * FROM devices WHERE id = ?');
    const f = get.get(from) as DeviceRow;
    const o = get.get(into) as DeviceRow;
    // A reinstalled machine's old agent is gone: one that still reports after the new record enrolled
    // is alive with its own key, and merging would hand its id to someone else's key.
    if (!force && o.last_seen_at && o.last_seen_at > f.enrolled_at) {
      throw new DevlicError('CONFLICT', `device ${into} reported at ${o.last_seen_at}, after ${from} enrolled (${f.enrolled_at}): `
        + 'its agent still runs with its own key, so the new record is not a reinstall of it; merge anyway with force (devlic-admin devices merge --force)');
    }
    const fromNewer = (f.last_seen_at ?? '') > (o.last_seen_at ?? '');
    db.prepare(`UPDATE devices SET name = ?, machine_id_hash = ?, hardware_uuid = ?, facts = ?, public_key = ?,
        last_seen_at = ?, last_report = ?, duplicate_of = CASE WHEN duplicate_of = ? THEN NULL ELSE duplicate_of END WHERE id = ?`)
      .run(f.name, f.machine_id_hash, f.hardware_uuid, f.facts, f.public_key,
        fromNewer ? f.last_seen_at : o.last_seen_at, fromNewer ? f.last_report : o.last_report, from, into);
    // The new record's reports become the old id's latest history; its groups and seat are dropped (the old id keeps its own).
    db.prepare('UPDATE device_reports SET device_id = ? WHERE device_id = ?').run(into, from);
    db.prepare('DELETE FROM group_members WHERE device_id = ?').run(from);
    db.prepare('DELETE FROM device_entitlements WHERE device_id = ?').run(from);
    db.prepare('UPDATE devices SET duplicate_of = ? WHERE duplicate_of = ? AND id <> ?').run(into, from, into);
    // Ids merged into the retired one earlier now lead to the survivor too.
    db.prepare('UPDATE device_merges SET device_id = ? WHERE device_id = ?').run(into, from);
    db.prepare('INSERT INTO device_merges (retired_id, device_id, merged_at) VALUES (?, ?, ?)').run(from, into, ctx.nowIso());
    db.prepare('DELETE FROM devices WHERE id = ?').run(from);
    return {
      result: { id: into, retired: from },
      action: 'device.merge', target: into,
      details: { retired: from, retiredName: f.name, wasDuplicateOf: f.duplicate_of, ...(force ? { force: true } : {}) },
      alsoChanged: [from, into],
    };
  });
}
