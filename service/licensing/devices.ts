// The device side of the licensing data: enrollment (new or recognised
// hardware), status reports (the fleet view's last-seen state), and
// disabling a device.
import type { DeviceFacts, Ed25519PublicJwk, StatusReport } from '../../shared/schemas/device.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { consumeEnrollToken } from './access.ts';
import { resolveRef } from './resolve.ts';

const REPORTS_KEPT = 20;

export interface EnrolledDevice { deviceId: string; reenrolled: boolean }

/**
 * Enrolls a device. The same (machine id hash, hardware UUID) pair keeps its
 * device id, groups and seat (a re-imaged or re-installed agent is the same
 * device); its new key replaces the old one.
 */
export function enrollDevice(ctx: LicensingContext, token: string, facts: DeviceFacts, publicKey: Ed25519PublicJwk): EnrolledDevice {
  let out!: EnrolledDevice;
  ctx.refresh(() => {
    const t = consumeEnrollToken(ctx, token);
    const existing = ctx.db.prepare('SELECT id FROM devices WHERE machine_id_hash = ? AND hardware_uuid = ?')
      .get(facts.machineIdHash, facts.hardwareUuid) as { id: string } | undefined;
    const deviceId = existing?.id ?? newId('dev');
    if (existing) {
      ctx.db.prepare('UPDATE devices SET name = ?, facts = ?, public_key = ? WHERE id = ?')
        .run(facts.hostname, JSON.stringify(facts), JSON.stringify(publicKey), deviceId);
    } else {
      ctx.db.prepare('INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(deviceId, facts.hostname, facts.machineIdHash, facts.hardwareUuid, JSON.stringify(facts), JSON.stringify(publicKey), ctx.nowIso());
    }
    if (t.groupId) {
      ctx.db.prepare('INSERT OR IGNORE INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)').run(t.groupId, deviceId, ctx.nowIso());
    }
    ctx.db.prepare('INSERT INTO audit (at, actor_id, actor_name, action, target, details) VALUES (?, ?, ?, ?, ?, ?)')
      .run(ctx.nowIso(), t.id, 'enrollment token', existing ? 'device.reenroll' : 'device.enroll', deviceId,
        JSON.stringify({ hostname: facts.hostname, group: t.groupId }));
    out = { deviceId, reenrolled: !!existing };
  });
  return out;
}

export function recordReport(ctx: LicensingContext, deviceId: string, report: StatusReport): void {
  const at = ctx.nowIso();
  ctx.db.transaction(() => {
    ctx.db.prepare('UPDATE devices SET last_seen_at = ?, last_report = ? WHERE id = ?').run(at, JSON.stringify(report), deviceId);
    ctx.db.prepare('INSERT INTO device_reports (device_id, at, report) VALUES (?, ?, ?)').run(deviceId, at, JSON.stringify(report));
    ctx.db.prepare(`DELETE FROM device_reports WHERE device_id = ? AND id <= (
      SELECT id FROM device_reports WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`).run(deviceId, deviceId, REPORTS_KEPT);
  })();
}

export function setDeviceDisabled(ctx: LicensingContext, actor: Actor, ref: string, disabled: boolean): string {
  return ctx.mutate(actor, () => {
    const id = resolveRef(ctx.db, 'device', ref);
    ctx.db.prepare('UPDATE devices SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, id);
    return { result: id, action: disabled ? 'device.disable' : 'device.enable', target: id };
  });
}
