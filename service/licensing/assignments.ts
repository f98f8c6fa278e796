// Assigning a subscription to a group and unassigning it: the two actions
// the source document is about. One subscription per group, enforced here
// and by the database's UNIQUE(group_id).
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { resolveRef } from './resolve.ts';

export function assign(ctx: LicensingContext, actor: Actor, subscriptionRef: string, groupRef: string, confirm = false): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const sub = await resolveRef(tx, 'subscription', subscriptionRef);
    const group = await resolveRef(tx, 'group', groupRef);
    if (await tx.catalogue.kindOfSubscription(sub) === 'user') {
      throw new DevlicError('WRONG_PRODUCT_KIND', `subscription '${subscriptionRef}' is of a user product: assign it to a user group (--user-group), not a device group`, { subscription: sub });
    }
    const existing = await tx.subscriptions.assignmentOfGroup(group);
    if (existing) {
      const same = existing.id === sub;
      throw new DevlicError('GROUP_ALREADY_LICENSED', same
        ? `group '${groupRef}' already has subscription '${existing.name}'`
        : `group '${groupRef}' already has subscription '${existing.name}'; a group can have only one subscription. Unassign it first or use another group`,
      { group, subscription: existing.id });
    }
    const id = newId('asg');
    await tx.subscriptions.assign(id, sub, group, ctx.nowIso());
    return { result: id, action: 'license.assign', target: group, details: { subscription: sub, group, assignment: id } };
  }, { confirm });
}

export async function unassign(ctx: LicensingContext, actor: Actor, subscriptionRef: string, groupRef: string, confirm = false): Promise<{ id: string; sub: string; group: string; devicesAffected: number }> {
  let devicesAffected = 0;
  const out = await ctx.mutate(actor, async (tx) => {
    const sub = await resolveRef(tx, 'subscription', subscriptionRef);
    const group = await resolveRef(tx, 'group', groupRef);
    const id = await tx.subscriptions.assignmentId(sub, group);
    if (!id) throw new DevlicError('NOT_FOUND', `subscription '${subscriptionRef}' is not assigned to group '${groupRef}'`);
    await tx.subscriptions.unassign(id);
    const details: Record<string, unknown> = { subscription: sub, group, assignment: id, devices: 0 };
    return {
      result: { id, sub, group }, action: 'license.unassign', target: group, details,
      // The holders are the devices the recompute loaded anyway (grouped by the answer they held); the affected
      // ones are those of them that lost their seat (a device still licensed through another group lost
      // nothing): no reads before or after of their own.
      afterRecompute: (r) => {
        const held = (g: { status: string | null; subscription_id: string | null; group_id: string | null }) =>
          g.status === 'licensed' && g.subscription_id === sub && g.group_id === group;
        let holders = 0;
        for (const g of r.before) if (held(g)) holders += g.ids.length;
        for (const m of r.moves) if (held(m.from) && m.to.status !== 'licensed') devicesAffected += m.ids.length;
        details.devices = holders;
      },
    };
  }, { confirm });
  return { ...out, devicesAffected };
}
