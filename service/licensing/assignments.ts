// Assigning a subscription to a group and unassigning it: the two actions
// the source document is about. One subscription per group, enforced here
// and by the database's UNIQUE(group_id).
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { resolveRef } from './resolve.ts';

export function assign(ctx: LicensingContext, actor: Actor, subscriptionRef: string, groupRef: string, confirm = false): string {
  return ctx.mutate(actor, () => {
    const sub = resolveRef(ctx.db, 'subscription', subscriptionRef);
    const group = resolveRef(ctx.db, 'group', groupRef);
    const existing = ctx.db.prepare(`SELECT s.id, s.name FROM assignments a JOIN subscriptions s ON s.id = a.subscription_id WHERE a.group_id = ?`)
      .get(group) as { id: string; name: string } | undefined;
    if (existing) {
      const same = existing.id === sub;
      throw new DevlicError('GROUP_ALREADY_LICENSED', same
        ? `group '${groupRef}' already has subscription '${existing.name}'`
        : `group '${groupRef}' already has subscription '${existing.name}'; a group can have only one subscription. Unassign it first or use another group`,
      { group, subscription: existing.id });
    }
    const id = newId('asg');
    ctx.db.prepare('INSERT INTO assignments (id, subscription_id, group_id, created_at) VALUES (?, ?, ?, ?)').run(id, sub, group, ctx.nowIso());
    return { result: id, action: 'license.assign', target: group, details: { subscription: sub, group, assignment: id } };
  }, { confirm });
}

export function unassign(ctx: LicensingContext, actor: Actor, subscriptionRef: string, groupRef: string, confirm = false): { id: string; sub: string; group: string; devicesAffected: number } {
  const licensedVia = ctx.db.prepare("SELECT device_id FROM device_entitlements WHERE status = 'licensed' AND subscription_id = ? AND group_id = ?");
  const stillLicensed = ctx.db.prepare("SELECT 1 FROM device_entitlements WHERE device_id = ? AND status = 'licensed'");
  let holders: string[] = [];
  const out = ctx.mutate(actor, () => {
    const sub = resolveRef(ctx.db, 'subscription', subscriptionRef);
    const group = resolveRef(ctx.db, 'group', groupRef);
    const row = ctx.db.prepare('SELECT id FROM assignments WHERE subscription_id = ? AND group_id = ?').get(sub, group) as { id: string } | undefined;
    if (!row) throw new DevlicError('NOT_FOUND', `subscription '${subscriptionRef}' is not assigned to group '${groupRef}'`);
    holders = (licensedVia.all(sub, group) as { device_id: string }[]).map((r) => r.device_id);
    ctx.db.prepare('DELETE FROM assignments WHERE id = ?').run(row.id);
    return { result: { id: row.id, sub, group }, action: 'license.unassign', target: group, details: { subscription: sub, group, assignment: row.id, devices: holders.length } };
  }, { confirm });
  // Counted after the recompute: a device still licensed through another group did not lose anything.
  const devicesAffected = holders.filter((d) => !stillLicensed.get(d)).length;
  return { ...out, devicesAffected };
}
