// Device groups: creation, membership and nesting. Nesting that would form a
// cycle is refused; membership order is kept (ord) for seat allocation.
// Renaming keeps the id; deleting is refused while a licence depends on the
// group (GROUP_HAS_LICENSES), as in Microsoft's admin centre.
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { descendantsAndSelf, wouldCreateCycle } from './graph.ts';
import { resolveRef } from './resolve.ts';

export function createGroup(ctx: LicensingContext, actor: Actor, name: string, parentRef?: string): string {
  return ctx.mutate(actor, () => {
    if (ctx.db.prepare('SELECT 1 FROM groups WHERE name = ? COLLATE NOCASE').get(name)) {
      throw new DevlicError('NAME_TAKEN', `a group named '${name}' already exists`);
    }
    const parent = parentRef ? resolveRef(ctx.db, 'group', parentRef) : null;
    const id = newId('grp');
    ctx.db.prepare('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)').run(id, name, ctx.nowIso());
    if (parent) ctx.db.prepare('INSERT INTO group_children (parent_id, child_id, created_at) VALUES (?, ?, ?)').run(parent, id, ctx.nowIso());
    return { result: id, action: 'group.create', target: id, details: { name, parent }, recompute: false };
  });
}

export function addDevices(ctx: LicensingContext, actor: Actor, groupRef: string, deviceRefs: string[], confirm = false): string {
  return ctx.mutate(actor, () => {
    const group = resolveRef(ctx.db, 'group', groupRef);
    const ids = deviceRefs.map((d) => resolveRef(ctx.db, 'device', d));
    const insert = ctx.db.prepare('INSERT OR IGNORE INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)');
    const added = ids.filter((d) => insert.run(group, d, ctx.nowIso()).changes > 0);
    return { result: group, action: 'group.add-devices', target: group, details: { added, alreadyMembers: ids.filter((d) => !added.includes(d)) } };
  }, { confirm });
}

export function removeDevices(ctx: LicensingContext, actor: Actor, groupRef: string, deviceRefs: string[], confirm = false): string {
  return ctx.mutate(actor, () => {
    const group = resolveRef(ctx.db, 'group', groupRef);
    const ids = deviceRefs.map((d) => resolveRef(ctx.db, 'device', d));
    const del = ctx.db.prepare('DELETE FROM group_members WHERE group_id = ? AND device_id = ?');
    const removed = ids.filter((d) => del.run(group, d).changes > 0);
    if (removed.length === 0) throw new DevlicError('NOT_FOUND', `none of those devices is a member of group '${groupRef}'`);
    return { result: group, action: 'group.remove-devices', target: group, details: { removed } };
  }, { confirm });
}

export function nestGroup(ctx: LicensingContext, actor: Actor, parentRef: string, childRef: string, confirm = false): string {
  return ctx.mutate(actor, () => {
    const parent = resolveRef(ctx.db, 'group', parentRef);
    const child = resolveRef(ctx.db, 'group', childRef);
    const edges = (ctx.db.prepare('SELECT parent_id AS parent, child_id AS child FROM group_children').all() as { parent: string; child: string }[]);
    if (wouldCreateCycle(parent, child, edges)) {
      throw new DevlicError('GROUP_CYCLE', `nesting '${childRef}' inside '${parentRef}' would create a cycle`);
    }
    const r = ctx.db.prepare('INSERT OR IGNORE INTO group_children (parent_id, child_id, created_at) VALUES (?, ?, ?)').run(parent, child, ctx.nowIso());
    if (r.changes === 0) throw new DevlicError('CONFLICT', `'${childRef}' is already nested inside '${parentRef}'`);
    return { result: parent, action: 'group.nest', target: parent, details: { child } };
  }, { confirm });
}

export function unnestGroup(ctx: LicensingContext, actor: Actor, parentRef: string, childRef: string, confirm = false): string {
  return ctx.mutate(actor, () => {
    const parent = resolveRef(ctx.db, 'group', parentRef);
    const child = resolveRef(ctx.db, 'group', childRef);
    const r = ctx.db.prepare('DELETE FROM group_children WHERE parent_id = ? AND child_id = ?').run(parent, child);
    if (r.changes === 0) throw new DevlicError('NOT_FOUND', `'${childRef}' is not nested inside '${parentRef}'`);
    return { result: parent, action: 'group.unnest', target: parent, details: { child } };
  }, { confirm });
}

export function renameGroup(ctx: LicensingContext, actor: Actor, ref: string, name: string): string {
  return ctx.mutate(actor, () => {
    const id = resolveRef(ctx.db, 'group', ref);
    const before = (ctx.db.prepare('SELECT name FROM groups WHERE id = ?').get(id) as { name: string }).name;
    if (ctx.db.prepare('SELECT 1 FROM groups WHERE name = ? COLLATE NOCASE AND id <> ?').get(name, id)) {
      throw new DevlicError('NAME_TAKEN', `a group named '${name}' already exists`);
    }
    ctx.db.prepare('UPDATE groups SET name = ? WHERE id = ?').run(name, id);
    return { result: id, action: 'group.rename', target: id, details: { before: { name: before }, after: { name } }, recompute: false };
  });
}

/**
 * Deletes a group with its memberships and nestings (the devices stay).
 * Refused while a subscription is assigned to it or to a group nested in it;
 * guarded like any change when it is itself nested in a licensed group.
 */
export function deleteGroup(ctx: LicensingContext, actor: Actor, ref: string, confirm = false): { id: string; name: string } {
  return ctx.mutate(actor, () => {
    const db = ctx.db;
    const id = resolveRef(db, 'group', ref);
    const name = (db.prepare('SELECT name FROM groups WHERE id = ?').get(id) as { name: string }).name;
    const edges = db.prepare('SELECT parent_id AS parent, child_id AS child FROM group_children').all() as { parent: string; child: string }[];
    const reach = descendantsAndSelf(id, edges);
    const licensed = db.prepare(`SELECT g.name AS g, s.name AS s FROM assignments a JOIN groups g ON g.id = a.group_id
      JOIN subscriptions s ON s.id = a.subscription_id WHERE a.group_id IN (${reach.map(() => '?').join(',')}) ORDER BY g.name`).all(...reach) as { g: string; s: string }[];
    if (licensed.length > 0) {
      const which = licensed.map((l) => `'${l.s}' on '${l.g}'`).join(', ');
      throw new DevlicError('GROUP_HAS_LICENSES', `group '${name}' cannot be deleted while a subscription is assigned to it or to a group nested in it (${which}); unassign first`,
        { assignments: licensed.length });
    }
    const members = (db.prepare('SELECT COUNT(*) AS n FROM group_members WHERE group_id = ?').get(id) as { n: number }).n;
    db.prepare('DELETE FROM group_members WHERE group_id = ?').run(id);
    db.prepare('DELETE FROM group_children WHERE parent_id = ? OR child_id = ?').run(id, id);
    db.prepare('UPDATE enroll_tokens SET group_id = NULL WHERE group_id = ?').run(id);
    db.prepare('DELETE FROM group_reach WHERE group_id = ?').run(id);
    db.prepare('DELETE FROM groups WHERE id = ?').run(id);
    return { result: { id, name }, action: 'group.delete', target: id, details: { name, members } };
  }, { confirm });
}
