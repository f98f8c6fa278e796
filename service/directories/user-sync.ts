// The user side of a directory sync (issue 16): directory USER groups, whose
// members are the user objects of a directory group, by sign-in name
// (user-walk.ts signInNameOf). Read from LDAP in the same bind as the device
// groups, before the transaction; applied inside the sync's one transaction
// (sync.ts), which then recomputes people's licences. A user object without
// a valid sign-in name is skipped and reported (counts, `user-groups show`,
// the sync's answer and its audit event), never guessed.
import type { TxStore } from '../store/store.ts';
import type { SkippedUser, UserGroupSync } from '../../shared/schemas/user-admin.ts';
import { values, type DirectorySession } from './ldap.ts';
import { normDn } from './match.ts';
import { signInNameOf, walkUsers, type UserDirEntry, type UserObject, type WalkedUsers } from './user-walk.ts';

/**
 * User objects, not computers (which Active Directory also puts in class
 * `user`) and not contacts; OpenLDAP's people are inetOrgPerson.
 */
export const USER_FILTER = '(&(|(objectClass=user)(objectClass=inetOrgPerson))(!(objectClass=computer)))';
const NAME_ATTRS = ['userPrincipalName', 'sAMAccountName', 'mail'];
const GROUP_CLASSES = new Set(['group', 'groupofnames', 'groupofuniquenames']);
/** Skipped user objects kept per group for `user-groups show` and the audit event. */
const SKIPPED_KEPT = 20;

const first = (e: Parameters<typeof values>[0], name: string): string | null => values(e, name)[0] ?? null;
const userOf = (e: Parameters<typeof values>[0]): UserObject => ({ dn: e.dn, upn: first(e, 'userPrincipalName'), sam: first(e, 'sAMAccountName'), mail: first(e, 'mail') });

/** What LDAP says: each directory user group's user objects (nested groups followed). */
export async function readUserGroups(s: DirectorySession, groups: readonly { id: string; dn: string }[]): Promise<{ byGroup: Map<string, WalkedUsers>; directoryGroups: number }> {
  const byGroup = new Map<string, WalkedUsers>();
  let directoryGroups = 0;
  if (groups.length === 0) return { byGroup, directoryGroups };
  // One paged search for every user under the base DN saves a read per member.
  const known = new Map<string, UserObject>();
  for (const e of await s.searchAll(USER_FILTER, NAME_ATTRS)) known.set(normDn(e.dn), userOf(e));
  const read = async (dn: string): Promise<UserDirEntry | null> => {
    const e = await s.readEntry(dn, ['objectClass', 'member', 'uniqueMember', ...NAME_ATTRS]);
    if (e === null) return null;
    const classes = values(e, 'objectClass').map((c) => c.toLowerCase());
    if (classes.includes('computer')) return { kind: 'other' };
    if (classes.some((c) => GROUP_CLASSES.has(c))) return { kind: 'group', members: [...values(e, 'member'), ...values(e, 'uniqueMember')] };
    if (classes.includes('user') || classes.includes('inetorgperson')) return { kind: 'user', user: userOf(e) };
    return { kind: 'other' };
  };
  for (const g of groups) {
    const w = await walkUsers(g.dn, known, read);
    byGroup.set(g.id, w);
    directoryGroups += w.groups;
  }
  return { byGroup, directoryGroups };
}

export interface UserApplied {
  userGroups: number; people: number; peopleAdded: number; peopleRemoved: number; peopleSkipped: number;
  /** Skipped user objects over all groups (the first 100), with the group's name. */
  skipped: (SkippedUser & { group: string })[];
  /** The user groups whose members this sync changed (announced after commit for open consoles). */
  changedGroups: string[];
}

/** Inside the sync's transaction: members of each directory user group become the sign-in names of its user objects. */
export async function applyUserMembers(tx: TxStore, byGroup: Map<string, WalkedUsers>, names: Map<string, string>, at: string): Promise<UserApplied> {
  const ids = [...byGroup.keys()];
  const have = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
  for (const m of await tx.userGroups.membersOf(ids)) have.get(m.group_id)!.add(m.user_name);
  const out: UserApplied = { userGroups: ids.length, people: 0, peopleAdded: 0, peopleRemoved: 0, peopleSkipped: 0, skipped: [], changedGroups: [] };
  const everyone = new Set<string>();
  for (const [groupId, walked] of byGroup) {
    const want = new Set<string>();
    const skipped: SkippedUser[] = [];
    for (const u of walked.users) {
      const r = signInNameOf(u);
      if (r.ok) want.add(r.name);
      else skipped.push({ dn: u.dn, value: r.value, error: r.error });
    }
    const h = have.get(groupId)!;
    // Sorted: people join in a stable order, which decides who gets a seat first when seats are short.
    const added = await tx.userGroups.addMembers(groupId, [...want].filter((u) => !h.has(u)).sort(), at);
    const removed = await tx.userGroups.removeMembers(groupId, [...h].filter((u) => !want.has(u)));
    const summary: UserGroupSync = {
      at, people: want.size, added, removed, skipped: skipped.length, skippedSample: skipped.slice(0, SKIPPED_KEPT), directoryGroups: walked.groups,
    };
    await tx.userGroups.setDirectorySync(groupId, JSON.stringify(summary));
    for (const u of want) everyone.add(u);
    if (added + removed > 0) out.changedGroups.push(groupId);
    out.peopleAdded += added;
    out.peopleRemoved += removed;
    out.peopleSkipped += skipped.length;
    for (const s of skipped) if (out.skipped.length < 100) out.skipped.push({ ...s, group: names.get(groupId) ?? groupId });
  }
  out.people = everyone.size;
  return out;
}
