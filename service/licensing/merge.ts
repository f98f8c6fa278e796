// The admin's path for a device that lost its key (reinstalled OS, new disk):
// it enrolls as a new device (flagged duplicateOf the old one), and a
// global-admin merges it back: the old id takes the new record's key and
// facts and keeps its own groups, seat and history; the new id is retired and
// remembered, so its agent is told (signed) which id it is now.
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext } from './context.ts';
import { resolveRef } from './resolve.ts';
import { syncRuleMembership } from './rule-membership.ts';
import { placeInDirectoryGroups, reportedHostname } from '../directories/place.ts';

/**
 * Merges device `fromRef` (the new record, holding the working key) into
 * `intoRef` (the old id). One transaction with its audit event; the caller
 * must drop cached device authentication for both ids after it returns.
 */
export function mergeDevices(ctx: LicensingContext, actor: Actor, fromRef: string, intoRef: string, force = false): Promise<{ id: string; retired: string }> {
  return ctx.mutate(actor, async (tx) => {
    const from = await resolveRef(tx, 'device', fromRef);
    const into = await resolveRef(tx, 'device', intoRef);
    if (from === into) throw new DevlicError('BAD_REQUEST', `cannot merge device ${from} into itself`);
    const f = (await tx.devices.get(from))!;
    const o = (await tx.devices.get(into))!;
    // A reinstalled machine's old agent is gone: one that still reports after the new record enrolled
    // is alive with its own key, and merging would hand its id to someone else's key.
    if (!force && o.last_seen_at && o.last_seen_at > f.enrolled_at) {
      throw new DevlicError('CONFLICT', `device ${into} reported at ${o.last_seen_at}, after ${from} enrolled (${f.enrolled_at}): `
        + 'its agent still runs with its own key, so the new record is not a reinstall of it; merge anyway with force (devlic-admin devices merge --force)');
    }
    // The new record's reports become the old id's latest history; its groups and seat are dropped (the old id keeps its own).
    const hostnames = [await reportedHostname(tx, from), await reportedHostname(tx, into)];
    await tx.devices.merge(f, o, ctx.nowIso());
    // `into` now has the new record's facts: rule and directory groups follow before the recompute.
    await syncRuleMembership(tx, ctx.nowIso(), { deviceId: into });
    await placeInDirectoryGroups(tx, ctx.nowIso(), [from, into], hostnames);
    // Both ids' cached request tokens go on every replica: the old key of `into` must stop working, the retired id must be told where it went.
    tx.changed([from, into], 'device-key');
    return {
      result: { id: into, retired: from },
      action: 'device.merge', target: into,
      details: { retired: from, retiredName: f.name, wasDuplicateOf: f.duplicate_of, ...(force ? { force: true } : {}) },
      alsoChanged: [from, into],
    };
  });
}
