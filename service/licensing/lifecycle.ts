// A device's end of life: retired (by an admin, or by the stale-device timer
// when it has not been seen for a while), restored, or deleted once retired.
// A retired device stays listed with who/when and holds no seat: its agent
// gets a signed unlicensed entitlement with reason DEVICE_RETIRED and goes
// read-only, and a restore licenses it again through the same long-poll.
// Rule groups hold devices in service only: a retired device leaves them in
// the same transaction, and a restored one is matched again (joining each
// rule group it matches as its newest member; hand-made memberships are kept
// through a retirement, in their old place). Directory groups likewise
// (service/directories/place.ts): a retired device leaves them at once, a
// restored one is matched again against what their last sync read.
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext, SYSTEM_ACTOR } from './context.ts';
import { resolveRef } from './resolve.ts';
import { syncRuleMembership } from './rule-membership.ts';
import { placeInDirectoryGroups, reportedHostname } from '../directories/place.ts';

export function retireDevice(ctx: LicensingContext, actor: Actor, ref: string, confirm: boolean): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'device', ref);
    const at = (await tx.devices.retirement(id))!.retired_at;
    if (at) throw new DevlicError('CONFLICT', `device '${ref}' was already retired at ${at}`);
    await tx.devices.retire(id, ctx.nowIso(), actor, 'admin');
    const rules = await syncRuleMembership(tx, ctx.nowIso(), { deviceId: id });
    await placeInDirectoryGroups(tx, ctx.nowIso(), [id], [await reportedHostname(tx, id)]);
    return { result: id, action: 'device.retire', target: id, details: { reason: 'admin', ruleGroupsLeft: rules.removed } };
  }, { confirm });
}

/** Guarded: the device rejoins the seat race in its old place, which can take the seat of a device that got it meanwhile. */
export function restoreDevice(ctx: LicensingContext, actor: Actor, ref: string, confirm: boolean): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'device', ref);
    const before = (await tx.devices.retirement(id))!;
    if (!before.retired_at) throw new DevlicError('DEVICE_NOT_RETIRED', `device '${ref}' is not retired`);
    await tx.devices.restore(id);
    const rules = await syncRuleMembership(tx, ctx.nowIso(), { deviceId: id });
    await placeInDirectoryGroups(tx, ctx.nowIso(), [id], [await reportedHostname(tx, id)]);
    return {
      result: id, action: 'device.restore', target: id,
      details: { retiredAt: before.retired_at, retiredBy: before.retired_by_name, reason: before.retired_reason, ruleGroupsJoined: rules.added },
    };
  }, { confirm });
}

/**
 * Forgets a retired device: its memberships, entitlement, reports and merge
 * history go; the audit log keeps its name. The caller must drop the
 * device's cached authentication: its agent is refused from then on.
 */
export function deleteDevice(ctx: LicensingContext, actor: Actor, ref: string): Promise<{ id: string; name: string }> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'device', ref);
    const row = (await tx.devices.retirement(id))!;
    if (!row.retired_at) {
      throw new DevlicError('DEVICE_NOT_RETIRED', `device '${ref}' is not retired; retire it first (devlic-admin devices retire), then delete it`);
    }
    const merged = await tx.devices.delete(id);
    // Its cached request tokens go on every replica: from now on it is refused.
    tx.changed([id, ...merged], 'device-key');
    return {
      result: { id, name: row.name }, action: 'device.delete', target: id,
      details: { name: row.name, retiredAt: row.retired_at, ...(merged.length ? { mergedIds: merged } : {}) },
      // Its long-polls must end now (they then get 401).
      alsoChanged: [id, ...merged],
    };
  });
}

/**
 * Retires every device not seen for `afterMs` (the retireStaleAfter setting),
 * as the system actor, one audit event per device, in one transaction.
 */
export async function retireStaleDevices(ctx: LicensingContext, afterMs: number): Promise<string[]> {
  const before = new Date(ctx.now() - afterMs).toISOString();
  if ((await ctx.store.devices.staleIds(before)).length === 0) return [];
  return ctx.mutate(SYSTEM_ACTOR, async (tx) => {
    const ids = await tx.devices.staleIds(before);
    const at = ctx.nowIso();
    for (const id of ids) {
      const s = (await tx.devices.lastSeen(id))!;
      await tx.devices.retire(id, at, SYSTEM_ACTOR, 'stale');
      const rules = await syncRuleMembership(tx, at, { deviceId: id });
      await tx.audit.insert({ at, actorId: SYSTEM_ACTOR.id, actorName: SYSTEM_ACTOR.name, action: 'device.retire', target: id,
        details: { reason: 'stale', lastSeenAt: s.seen, staleAfterSeconds: Math.round(afterMs / 1000), ruleGroupsLeft: rules.removed } });
    }
    const hostnames = await Promise.all(ids.map((id) => reportedHostname(tx, id)));
    await placeInDirectoryGroups(tx, at, ids, hostnames);
    // mutate writes one more event: the run as a whole.
    return { result: ids, action: 'device.retire-stale', target: 'devices', details: { count: ids.length, before } };
  }, { confirm: true });
}
