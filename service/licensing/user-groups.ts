// User groups (issue 16): people listed by normalised sign-in name
// (shared/sign-in.ts), licensed by assigning a subscription of a user
// product, with the device rules: one subscription per group, global-admin
// only (the admin API's hook), audited in the change's transaction, seats
// count people. Only user licences move here, so the device recompute is
// skipped ('users'). A change that takes a licensed person's licence
// (remove-users, unassign) is measured and rolled back unless confirmed,
// like the device changes (context.ts). A directory user group takes its
// members from its directory only (service/directories/user-sync.ts).
// Sign-in domain aliases (shared/sign-in-domains.ts) apply to typed names:
// add-users stores the person (`CORP\alice` as `alice@corp.example.com`
// while CORP stands for corp.example.com); remove-users removes every
// listed spelling of that person.
import { DevlicError } from '../../shared/errors.ts';
import { normaliseSignInName } from '../../shared/sign-in.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { resolveRef } from './resolve.ts';
import { directoryByRef } from '../directories/directories.ts';
import { loadSignInDomains } from './sign-in-domains.ts';
import type { TxStore } from '../store/store.ts';

/** With `directory`: a directory user group, empty until its first sync (the caller starts one). */
export function createUserGroup(ctx: LicensingContext, actor: Actor, name: string, directory?: { ref: string; dn: string }): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    if (await tx.userGroups.nameTaken(name)) throw new DevlicError('NAME_TAKEN', `a user group named '${name}' already exists`);
    const dir = directory ? await directoryByRef(tx, directory.ref) : null;
    const id = newId('ugr');
    await tx.userGroups.insert(id, name, ctx.nowIso());
    if (dir) await tx.userGroups.setDirectory(id, dir.id, directory!.dn);
    return { result: id, action: 'user-group.create', target: id, details: { name, ...(dir ? { directory: dir.name, dn: directory!.dn } : {}) }, recompute: false, userGroups: [id] };
  });
}

/** Members of a directory user group come from its directory only. */
async function refuseDirectoryGroup(tx: TxStore, id: string, groupRef: string, verb: string): Promise<void> {
  const dir = await tx.userGroups.directoryOf(id);
  if (dir) {
    throw new DevlicError('GROUP_IS_DIRECTORY_BASED', `user group '${groupRef}' follows the directory group '${dir.dn}' of directory '${dir.name}': its members cannot be ${verb} by hand (change the group in the directory; 'devlic-admin directories sync ${dir.name}' applies it now)`,
      { group: id, directory: dir.id });
  }
}

/** Every name normalised before anything is written: one bad name changes nothing. */
function normaliseAll(users: readonly string[]): string[] {
  return [...new Set(users.map(normaliseSignInName))];
}

export function addUsers(ctx: LicensingContext, actor: Actor, groupRef: string, users: readonly string[]): Promise<{ id: string; added: string[] }> {
  const names = normaliseAll(users);
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'user group', groupRef);
    await refuseDirectoryGroup(tx, id, groupRef, 'added');
    const domains = await loadSignInDomains(tx);
    const added: string[] = [];
    const already: string[] = [];
    for (const u of new Set(names.map((n) => domains.person(n)))) (await tx.userGroups.addMember(id, u, ctx.nowIso()) ? added : already).push(u);
    // As for devices: the audit event says who was already a member, so a request that added nobody still reads as what it was.
    return { result: { id, added }, action: 'user-group.add-users', target: id, details: { users: added, alreadyMembers: already }, recompute: added.length ? 'users' : false, userGroups: added.length ? [id] : [] };
  });
}

export function removeUsers(ctx: LicensingContext, actor: Actor, groupRef: string, users: readonly string[], opts: { confirm?: boolean } = {}): Promise<{ id: string; removed: string[] }> {
  const names = normaliseAll(users);
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'user group', groupRef);
    await refuseDirectoryGroup(tx, id, groupRef, 'removed');
    const domains = await loadSignInDomains(tx);
    const removed: string[] = [];
    for (const n of names) for (const u of domains.spellings(domains.person(n))) if (await tx.userGroups.removeMember(id, u)) removed.push(u);
    return { result: { id, removed }, action: 'user-group.remove-users', target: id, details: { users: removed }, recompute: removed.length ? 'users' : false, userGroups: removed.length ? [id] : [] };
  }, opts);
}

async function userSubscription(tx: TxStore, ref: string): Promise<string> {
  const sub = await resolveRef(tx, 'subscription', ref);
  if (await tx.catalogue.kindOfSubscription(sub) !== 'user') {
    throw new DevlicError('WRONG_PRODUCT_KIND', `subscription '${ref}' is of a device product: assign it to a device group (--group), not a user group`, { subscription: sub });
  }
  return sub;
}

export function assignUserGroup(ctx: LicensingContext, actor: Actor, subscriptionRef: string, groupRef: string): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const sub = await userSubscription(tx, subscriptionRef);
    const group = await resolveRef(tx, 'user group', groupRef);
    const existing = await tx.userGroups.assignmentOfGroup(group);
    if (existing) {
      throw new DevlicError('GROUP_ALREADY_LICENSED', existing.id === sub
        ? `user group '${groupRef}' already has subscription '${existing.name}'`
        : `user group '${groupRef}' already has subscription '${existing.name}'; a group can have only one subscription. Unassign it first or use another group`,
      { group, subscription: existing.id });
    }
    const id = newId('uas');
    await tx.userGroups.assign(id, sub, group, ctx.nowIso());
    return { result: id, action: 'license.assign-users', target: group, details: { subscription: sub, userGroup: group, assignment: id }, recompute: 'users', userGroups: [group] };
  });
}

export function unassignUserGroup(ctx: LicensingContext, actor: Actor, subscriptionRef: string, groupRef: string, opts: { confirm?: boolean } = {}): Promise<{ id: string; sub: string; group: string }> {
  return ctx.mutate(actor, async (tx) => {
    const sub = await resolveRef(tx, 'subscription', subscriptionRef);
    const group = await resolveRef(tx, 'user group', groupRef);
    const id = await tx.userGroups.assignmentId(sub, group);
    if (!id) throw new DevlicError('NOT_FOUND', `subscription '${subscriptionRef}' is not assigned to user group '${groupRef}'`);
    await tx.userGroups.unassign(id);
    return { result: { id, sub, group }, action: 'license.unassign-users', target: group, details: { subscription: sub, userGroup: group, assignment: id }, recompute: 'users', userGroups: [group] };
  }, opts);
}

/** Renames a user group: its id, members, directory link and licence stay. */
export function renameUserGroup(ctx: LicensingContext, actor: Actor, ref: string, name: string): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'user group', ref);
    const before = (await tx.userGroups.nameOf(id))!;
    if (await tx.userGroups.nameTaken(name, id)) throw new DevlicError('NAME_TAKEN', `a user group named '${name}' already exists`);
    await tx.userGroups.rename(id, name);
    return { result: id, action: 'user-group.rename', target: id, details: { before: { name: before }, after: { name } }, recompute: false, userGroups: [id] };
  });
}

/**
 * Deletes a user group and its member list (the people's other groups and
 * licences stay). Refused while a subscription is assigned to it, as for
 * device groups: unassigning is the change that takes licences, and it is
 * guarded and audited as such. So nobody's answer moves here.
 */
export function deleteUserGroup(ctx: LicensingContext, actor: Actor, ref: string): Promise<{ id: string; name: string }> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'user group', ref);
    const name = (await tx.userGroups.nameOf(id))!;
    const licensed = await tx.userGroups.assignmentOfGroup(id);
    if (licensed) {
      throw new DevlicError('GROUP_HAS_LICENSES', `user group '${name}' cannot be deleted while subscription '${licensed.name}' is assigned to it; unassign first ('devlic-admin licenses unassign --subscription "${licensed.name}" --user-group "${name}"')`,
        { group: id, subscription: licensed.id });
    }
    const dir = await tx.userGroups.directoryOf(id);
    const members = (await tx.userGroups.membersWithAnswers(id, 0, 0)).total;
    await tx.userGroups.delete(id);
    return { result: { id, name }, action: 'user-group.delete', target: id, details: { name, members, ...(dir ? { directory: dir.name, dn: dir.dn } : {}) }, recompute: false, userGroups: [id] };
  });
}
