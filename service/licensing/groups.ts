// Device groups: creation, membership and nesting. Nesting that would form a
// cycle is refused; membership order is kept (ord) for seat allocation.
// Renaming keeps the id; deleting is refused while a licence depends on the
// group (GROUP_HAS_LICENSES), as in Microsoft's admin centre. A group with
// a rule (rule-membership.ts) gets its members from the rule only, a
// directory group (service/directories/) from its directory only.
import { DevlicError } from '../../shared/errors.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { descendantsAndSelf, wouldCreateCycle } from './graph.ts';
import { resolveRef } from './resolve.ts';
import type { Aggregates } from '../store/store.ts';
import { parseRule } from '../../shared/rules/index.ts';
import { syncRuleMembership } from './rule-membership.ts';
import { directoryByRef } from '../directories/directories.ts';

/**
 * Creates a group; with a rule, its members are the devices the rule matches
 * (a bad rule: RULE_INVALID, nothing created); with a directory and a DN, a
 * directory group, empty until its first sync (the caller starts one).
 */
export function createGroup(ctx: LicensingContext, actor: Actor, name: string, parentRef?: string, rule?: string,
  directory?: { ref: string; dn: string }): Promise<string> {
  if (rule !== undefined) parseRule(rule);
  if (rule !== undefined && directory) throw new DevlicError('BAD_REQUEST', 'a group takes its members from a rule or from a directory, not both');
  return ctx.mutate(actor, async (tx) => {
    if (await tx.groups.nameTaken(name)) throw new DevlicError('NAME_TAKEN', `a group named '${name}' already exists`);
    const parent = parentRef ? await resolveRef(tx, 'group', parentRef) : null;
    const dir = directory ? await directoryByRef(tx, directory.ref) : null;
    const id = newId('grp');
    await tx.groups.insert(id, name, ctx.nowIso());
    if (parent) await tx.groups.nest(parent, id, ctx.nowIso());
    if (rule !== undefined) {
      await tx.rules.setRule(id, rule);
      await syncRuleMembership(tx, ctx.nowIso(), { groupId: id });
    }
    if (dir) await tx.directories.setGroupDirectory(id, dir.id, directory!.dn);
    const extra = { ...(rule !== undefined ? { rule } : {}), ...(dir ? { directory: dir.name, dn: directory!.dn } : {}) };
    // A new group has no licence of its own, but a rule group nested in a licensed one can move seats.
    return { result: id, action: 'group.create', target: id, details: { name, parent, ...extra }, recompute: rule !== undefined && !!parent };
  });
}

/**
 * Sets (or replaces) a group's rule: its members become exactly the devices
 * the rule matches (members added by hand before go). Guarded like any
 * change that can take seats. A bad rule: RULE_INVALID, nothing changed.
 * `null` takes the rule away: the members stay, now as hand-made members
 * (no seat moves); a group without a rule: CONFLICT.
 */
export function setGroupRule(ctx: LicensingContext, actor: Actor, ref: string, rule: string | null, confirm = false): Promise<string> {
  if (rule !== null) parseRule(rule);
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'group', ref);
    await refuseDirectoryGroup(tx, id, ref, 'set by a rule');
    const before = await tx.rules.ruleOf(id);
    if (rule === null) {
      if (before === null) throw new DevlicError('CONFLICT', `group '${ref}' has no rule: its members are already added by hand`);
      await tx.rules.setRule(id, null);
      const kept = (await tx.rules.members([id])).length;
      return { result: id, action: 'group.clear-rule', target: id, details: { before: { rule: before }, after: { rule: null }, keptAsManual: kept }, recompute: false };
    }
    await tx.rules.setRule(id, rule);
    const moved = await syncRuleMembership(tx, ctx.nowIso(), { groupId: id });
    return { result: id, action: 'group.set-rule', target: id, details: { before: { rule: before }, after: { rule }, ...moved } };
  }, { confirm });
}

/** Members of a directory group come from its directory only. */
async function refuseDirectoryGroup(tx: Aggregates, group: string, groupRef: string, verb: string): Promise<void> {
  const dir = await tx.directories.groupDirectory(group);
  if (dir) {
    throw new DevlicError('GROUP_IS_DIRECTORY_BASED', `group '${groupRef}' follows the directory group '${dir.dn}' of directory '${dir.name}': its members cannot be ${verb} by hand (change the group in the directory; 'devlic-admin directories sync ${dir.name}' applies it now)`);
  }
}

/** Members of a rule group come from its rule only (and a directory group's from its directory). */
async function refuseRuleGroup(tx: Aggregates, group: string, groupRef: string, verb: string): Promise<void> {
  await refuseDirectoryGroup(tx, group, groupRef, verb);
  if (await tx.rules.ruleOf(group) !== null) {
    throw new DevlicError('GROUP_IS_RULE_BASED', `group '${groupRef}' is rule-based: its members follow its rule and cannot be ${verb} by hand (change the rule, or tag devices)`);
  }
}

async function resolveAll(tx: Aggregates, refs: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const d of refs) ids.push(await resolveRef(tx, 'device', d));
  return ids;
}

export function addDevices(ctx: LicensingContext, actor: Actor, groupRef: string, deviceRefs: string[], confirm = false): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const group = await resolveRef(tx, 'group', groupRef);
    await refuseRuleGroup(tx, group, groupRef, 'added');
    const ids = await resolveAll(tx, deviceRefs);
    const added: string[] = [];
    for (const d of ids) if (await tx.groups.addMember(group, d, ctx.nowIso())) added.push(d);
    return { result: group, action: 'group.add-devices', target: group, details: { added, alreadyMembers: ids.filter((d) => !added.includes(d)) } };
  }, { confirm });
}

export function removeDevices(ctx: LicensingContext, actor: Actor, groupRef: string, deviceRefs: string[], confirm = false): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const group = await resolveRef(tx, 'group', groupRef);
    await refuseRuleGroup(tx, group, groupRef, 'removed');
    const ids = await resolveAll(tx, deviceRefs);
    const removed: string[] = [];
    for (const d of ids) if (await tx.groups.removeMember(group, d)) removed.push(d);
    if (removed.length === 0) throw new DevlicError('NOT_FOUND', `none of those devices is a member of group '${groupRef}'`);
    return { result: group, action: 'group.remove-devices', target: group, details: { removed } };
  }, { confirm });
}

export function nestGroup(ctx: LicensingContext, actor: Actor, parentRef: string, childRef: string, confirm = false): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const parent = await resolveRef(tx, 'group', parentRef);
    const child = await resolveRef(tx, 'group', childRef);
    if (wouldCreateCycle(parent, child, await tx.groups.edges())) {
      throw new DevlicError('GROUP_CYCLE', `nesting '${childRef}' inside '${parentRef}' would create a cycle`);
    }
    if (!await tx.groups.nest(parent, child, ctx.nowIso())) throw new DevlicError('CONFLICT', `'${childRef}' is already nested inside '${parentRef}'`);
    return { result: parent, action: 'group.nest', target: parent, details: { child } };
  }, { confirm });
}

export function unnestGroup(ctx: LicensingContext, actor: Actor, parentRef: string, childRef: string, confirm = false): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const parent = await resolveRef(tx, 'group', parentRef);
    const child = await resolveRef(tx, 'group', childRef);
    if (!await tx.groups.unnest(parent, child)) throw new DevlicError('NOT_FOUND', `'${childRef}' is not nested inside '${parentRef}'`);
    return { result: parent, action: 'group.unnest', target: parent, details: { child } };
  }, { confirm });
}

export function renameGroup(ctx: LicensingContext, actor: Actor, ref: string, name: string): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'group', ref);
    const before = (await tx.groups.nameOf(id))!;
    if (await tx.groups.nameTaken(name, id)) throw new DevlicError('NAME_TAKEN', `a group named '${name}' already exists`);
    await tx.groups.rename(id, name);
    return { result: id, action: 'group.rename', target: id, details: { before: { name: before }, after: { name } }, recompute: false };
  });
}

/**
 * Deletes a group with its memberships and nestings (the devices stay).
 * Refused while a subscription is assigned to it or to a group nested in it;
 * guarded like any change when it is itself nested in a licensed group.
 */
export function deleteGroup(ctx: LicensingContext, actor: Actor, ref: string, confirm = false): Promise<{ id: string; name: string }> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'group', ref);
    const name = (await tx.groups.nameOf(id))!;
    const reach = descendantsAndSelf(id, await tx.groups.edges());
    const licensed = await tx.subscriptions.assignedToAny(reach);
    if (licensed.length > 0) {
      const which = licensed.map((l) => `'${l.s}' on '${l.g}'`).join(', ');
      throw new DevlicError('GROUP_HAS_LICENSES', `group '${name}' cannot be deleted while a subscription is assigned to it or to a group nested in it (${which}); unassign first`,
        { assignments: licensed.length });
    }
    const members = await tx.groups.memberCount(id);
    await tx.groups.delete(id);
    return { result: { id, name }, action: 'group.delete', target: id, details: { name, members } };
  }, { confirm });
}
