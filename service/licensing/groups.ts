// Device groups: creation, membership and nesting. Nesting that would form a
// cycle is refused; membership order is kept (ord) for seat allocation.
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { wouldCreateCycle } from './graph.ts';
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

export function addDevices(ctx: LicensingContext, actor: Actor, groupRef: string, deviceRefs: string[]): string {
  return ctx.mutate(actor, () => {
    const group = resolveRef(ctx.db, 'group', groupRef);
    const ids = deviceRefs.map((d) => resolveRef(ctx.db, 'device', d));
    const insert = ctx.db.prepare('INSERT OR IGNORE INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)');
    const added = ids.filter((d) => insert.run(group, d, ctx.nowIso()).changes > 0);
    return { result: group, action: 'group.add-devices', target: group, details: { added, alreadyMembers: ids.filter((d) => !added.includes(d)) } };
  });
}

export function removeDevices(ctx: LicensingContext, actor: Actor, groupRef: string, deviceRefs: string[]): string {
  return ctx.mutate(actor, () => {
    const group = resolveRef(ctx.db, 'group', groupRef);
    const ids = deviceRefs.map((d) => resolveRef(ctx.db, 'device', d));
    const del = ctx.db.prepare('DELETE FROM group_members WHERE group_id = ? AND device_id = ?');
    const removed = ids.filter((d) => del.run(group, d).changes > 0);
    if (removed.length === 0) throw new DevlicError('NOT_FOUND', `none of those devices is a member of group '${groupRef}'`);
    return { result: group, action: 'group.remove-devices', target: group, details: { removed } };
  });
}

export function nestGroup(ctx: LicensingContext, actor: Actor, parentRef: string, childRef: string): string {
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
  });
}

export function unnestGroup(ctx: LicensingContext, actor: Actor, parentRef: string, childRef: string): string {
  return ctx.mutate(actor, () => {
    const parent = resolveRef(ctx.db, 'group', parentRef);
    const child = resolveRef(ctx.db, 'group', childRef);
    const r = ctx.db.prepare('DELETE FROM group_children WHERE parent_id = ? AND child_id = ?').run(parent, child);
    if (r.changes === 0) throw new DevlicError('NOT_FOUND', `'${childRef}' is not nested inside '${parentRef}'`);
    return { result: parent, action: 'group.unnest', target: parent, details: { child } };
  });
}
