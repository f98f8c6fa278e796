// The device side of the licensing data: enrollment (a new device, or a
// known one that proves it holds its current key), status reports (the fleet
// view's last-seen state), and disabling a device.
import type { EnrollRequest, StatusReport } from '../../shared/schemas/device.ts';
import { DevlicError } from '../../shared/errors.ts';
import { keyFromJwk, unverifiedSubject } from '../../shared/token.ts';
import { verifyEnrollProof } from '../../shared/device-proofs.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { consumeEnrollToken } from './access.ts';
import { resolveRef } from './resolve.ts';
import { syncRuleMembership } from './rule-membership.ts';
import { placeInDirectoryGroups, reportedHostname } from '../directories/place.ts';

const REPORTS_KEPT = 20;

export interface EnrolledDevice {
  deviceId: string;
  /** true when the device proved its current key and kept its id (its key was replaced). */
  reenrolled: boolean;
  /** A new device whose hardware facts match this existing one (not proven to be it). */
  duplicateOf: string | null;
}

/** The device a (possibly retired by a merge) id stands for now, with its current key. */
export async function currentDevice(ctx: LicensingContext, id: string): Promise<{ id: string; publicKey: string } | null> {
  const row = await ctx.store.devices.current(id);
  return row ? { id: row.id, publicKey: row.public_key } : null;
}

/** Checks the enroll proof (async: a signature) and says which device it proves, with the key it was checked against. */
async function checkProof(ctx: LicensingContext, req: EnrollRequest): Promise<{ deviceId: string; publicKey: string }> {
  const claimed = unverifiedSubject(req.proof!);
  const dev = claimed ? await currentDevice(ctx, claimed) : null;
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
  await ctx.refresh(async (tx) => {
    // The token is judged first, so a bad token is reported as such whatever the proof.
    const t = await consumeEnrollToken(ctx, tx, token);
    if (proofError) throw proofError;
    const key = JSON.stringify(publicKey);
    let deviceId: string;
    let duplicateOf: string | null = null;
    const fields = { name: facts.hostname, machineIdHash: facts.machineIdHash, hardwareUuid: facts.hardwareUuid, facts: JSON.stringify(facts), publicKey: key };
    let hostnameBefore: string | null = null;
    if (proven) {
      deviceId = proven.deviceId;
      hostnameBefore = await reportedHostname(tx, deviceId);
      // The proof was checked before this transaction: the key must still be the one it was checked against.
      if (await tx.devices.publicKey(deviceId) !== proven.publicKey) throw new DevlicError('ENROLL_PROOF_INVALID', 'enroll proof rejected: the device key changed meanwhile');
      await tx.devices.reenroll(deviceId, fields);
      // Tokens signed by the old key must stop working at once, on every replica.
      tx.changed([deviceId], 'device-key');
    } else {
      duplicateOf = await tx.devices.sameHardware(facts.machineIdHash, facts.hardwareUuid);
      deviceId = newId('dev');
      await tx.devices.insert({ id: deviceId, ...fields, enrolledAt: ctx.nowIso(), duplicateOf });
    }
    if (t.groupId) await tx.groups.addMember(t.groupId, deviceId, ctx.nowIso());
    // New or changed facts: rule groups take the device in or let it go, before this transaction's recompute.
    await syncRuleMembership(tx, ctx.nowIso(), { deviceId });
    // Directory groups too, against what their last sync read: no wait for the next sync.
    const dir = await placeInDirectoryGroups(tx, ctx.nowIso(), [deviceId], [hostnameBefore, facts.hostname]);
    const action = proven ? 'device.reenroll' : duplicateOf ? 'device.enroll-duplicate' : 'device.enroll';
    await tx.audit.insert({ at: ctx.nowIso(), actorId: t.id, actorName: 'enrollment token', action, target: deviceId,
      details: { hostname: facts.hostname, group: t.groupId, ...(duplicateOf ? { duplicateOf } : {}), ...(dir.added + dir.removed > 0 ? { directoryMembers: dir } : {}) } });
    out = { deviceId, reenrolled: !!proven, duplicateOf };
  });
  return out;
}

/**
 * Stores a status report; its mode and whether it is enforced also in
 * columns of their own, which the device list filters and /metrics count by
 * (no JSON in SQL).
 */
export async function recordReport(ctx: LicensingContext, deviceId: string, report: StatusReport): Promise<void> {
  const at = ctx.nowIso();
  // Not serialised with admin changes: a report moves no seat (see TxOptions)...
  const factChanged = await ctx.store.transaction((tx) =>
    tx.devices.recordReport(deviceId, at, JSON.stringify(report), report.mode, enforcedState(report), REPORTS_KEPT,
      { agentVersion: report.agentVersion, osVersion: report.osVersion }), { serialised: false });
  // ...unless it changed a fact a rule can name: then rule memberships and seats follow, in one serialised transaction.
  if (factChanged && (await ctx.store.rules.groups()).length > 0) {
    await ctx.refresh((tx) => syncRuleMembership(tx, ctx.nowIso(), { deviceId }).then(() => undefined));
  }
}

/** 'ok' when every enforcer the agent reports holds the mode; null for an agent that does not report it (unknown, not ok). */
export function enforcedState(report: Pick<StatusReport, 'enforcement'>): 'ok' | 'failing' | null {
  if (!report.enforcement?.length) return null;
  return report.enforcement.every((e) => e.ok) ? 'ok' : 'failing';
}

export function setDeviceDisabled(ctx: LicensingContext, actor: Actor, ref: string, disabled: boolean, confirm = false): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'device', ref);
    await tx.devices.setDisabled(id, disabled);
    return { result: id, action: disabled ? 'device.disable' : 'device.enable', target: id };
  }, { confirm });
}
