// The device side of the licensing data: enrollment (a new device, or a
// known one that proves it holds its current key), status reports (the fleet
// view's last-seen state), and disabling a device.
import type { DeviceFacts, EnrollRequest, StatusReport } from '../../shared/schemas/device.ts';
import { DevlicError } from '../../shared/errors.ts';
import { keyFromJwk, unverifiedSubject } from '../../shared/token.ts';
import { verifyEnrollProof } from '../../shared/device-proofs.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { consumeEnrollToken } from './access.ts';
import { resolveRef } from './resolve.ts';

const REPORTS_KEPT = 20;

export interface EnrolledDevice {
  deviceId: string;
  /** true when the device proved its current key and kept its id (its key was replaced). */
  reenrolled: boolean;
  /** A new device whose hardware facts match this existing one (not proven to be it). */
  duplicateOf: string | null;
}

/** The device a (possibly retired by a merge) id stands for now, with its current key. */
export function currentDevice(ctx: LicensingContext, id: string): { id: string; publicKey: string } | null {
  const row = ctx.db.prepare(`SELECT d.id, d.public_key FROM devices d WHERE d.id = ?
    UNION ALL SELECT d.id, d.public_key FROM device_merges m JOIN devices d ON d.id = m.device_id WHERE m.retired_id = ?
    LIMIT 1`).get(id, id) as { id: string; public_key: string } | undefined;
  return row ? { id: row.id, publicKey: row.public_key } : null;
}

/** Checks the enroll proof (async: a signature) and says which device it proves, with the key it was checked against. */
async function checkProof(ctx: LicensingContext, req: EnrollRequest): Promise<{ deviceId: string; publicKey: string }> {
  const claimed = unverifiedSubject(req.proof!);
  const dev = claimed ? currentDevice(ctx, claimed) : null;
  if (!claimed || !dev) throw new DevlicError('ENROLL_PROOF_INVALID', 'enroll proof names no device known to this service');
  await verifyEnrollProof(req.proof!, {
    currentKey: keyFromJwk(JSON.parse(dev.publicKey)), deviceId: claimed, newPublicKey: req.publicKey, nowSeconds: Math.floor(ctx.now() / 1000),
  });
  return { deviceId: dev.id, publicKey: dev.publicKey };
}

/**
 * Enrolls a device. Matching hardware facts never hand over an existing
 * device: they are readable by any local user (and were shown to readers).
 * Only a valid proof signed by the device's current key keeps its id, groups
 * and seat (its key is then replaced). Otherwise a new device is created,
 * flagged `duplicateOf` the matching one, which stays exactly as it was; an
 * admin merges the two if the new one is really the old machine
 * (`devlic-admin devices merge NEW OLD`). An invalid proof changes nothing
 * (not even the token's use count): ENROLL_PROOF_INVALID.
 */
export async function enrollDevice(ctx: LicensingContext, req: EnrollRequest): Promise<EnrolledDevice> {
  const { token, facts, publicKey } = req;
  let proven: { deviceId: string; publicKey: string } | null = null;
  let proofError: unknown = null;
  if (req.proof) {
    try {
      proven = await checkProof(ctx, req);
    } catch (e) {
      proofError = e;
    }
  }
  let out!: EnrolledDevice;
  ctx.refresh(() => {
    // The token is judged first, so a bad token is reported as such whatever the proof.
    const t = consumeEnrollToken(ctx, token);
    if (proofError) throw proofError;
    const key = JSON.stringify(publicKey);
    let deviceId: string;
    let duplicateOf: string | null = null;
    if (proven) {
      deviceId = proven.deviceId;
      const now = ctx.db.prepare('SELECT public_key FROM devices WHERE id = ?').get(deviceId) as { public_key: string } | undefined;
      // The proof was checked before this transaction: the key must still be the one it was checked against.
      if (now?.public_key !== proven.publicKey) throw new DevlicError('ENROLL_PROOF_INVALID', 'enroll proof rejected: the device key changed meanwhile');
      ctx.db.prepare('UPDATE devices SET name = ?, machine_id_hash = ?, hardware_uuid = ?, facts = ?, public_key = ? WHERE id = ?')
        .run(facts.hostname, facts.machineIdHash, facts.hardwareUuid, JSON.stringify(facts), key, deviceId);
    } else {
      duplicateOf = sameHardware(ctx, facts);
      deviceId = newId('dev');
      ctx.db.prepare('INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(deviceId, facts.hostname, facts.machineIdHash, facts.hardwareUuid, JSON.stringify(facts), key, ctx.nowIso(), duplicateOf);
    }
    if (t.groupId) {
      ctx.db.prepare('INSERT OR IGNORE INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)').run(t.groupId, deviceId, ctx.nowIso());
    }
    const action = proven ? 'device.reenroll' : duplicateOf ? 'device.enroll-duplicate' : 'device.enroll';
    ctx.db.prepare('INSERT INTO audit (at, actor_id, actor_name, action, target, details) VALUES (?, ?, ?, ?, ?, ?)')
      .run(ctx.nowIso(), t.id, 'enrollment token', action, deviceId,
        JSON.stringify({ hostname: facts.hostname, group: t.groupId, ...(duplicateOf ? { duplicateOf } : {}) }));
    out = { deviceId, reenrolled: !!proven, duplicateOf };
  });
  return out;
}

/** The first-enrolled device with these hardware facts, if any (duplicates point at it, not at each other). */
function sameHardware(ctx: LicensingContext, facts: DeviceFacts): string | null {
  const row = ctx.db.prepare(`SELECT COALESCE(duplicate_of, id) AS id FROM devices WHERE machine_id_hash = ? AND hardware_uuid = ?
    ORDER BY duplicate_of IS NOT NULL, enrolled_at, id LIMIT 1`).get(facts.machineIdHash, facts.hardwareUuid) as { id: string } | undefined;
  return row?.id ?? null;
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

export function setDeviceDisabled(ctx: LicensingContext, actor: Actor, ref: string, disabled: boolean, confirm = false): string {
  return ctx.mutate(actor, () => {
    const id = resolveRef(ctx.db, 'device', ref);
    ctx.db.prepare('UPDATE devices SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, id);
    return { result: id, action: disabled ? 'device.disable' : 'device.enable', target: id };
  }, { confirm });
}
