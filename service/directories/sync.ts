// One directory sync: read every directory group of the directory from LDAP
// (outside any transaction: the network is slow and may fail), then, in ONE
// transaction, set the members of those groups, recompute entitlements and
// record the result, so seats move atomically with the membership and
// waiting agents hear of it after commit, as for any other change. A
// directory that is down, refuses the bind or lacks a group changes no
// membership: only its last-sync error is recorded.
import { DevlicError, isDevlicError } from '../../shared/errors.ts';
import type { Actor, LicensingContext } from '../licensing/context.ts';
import { recomputeEntitlements } from '../licensing/recompute.ts';
import { loadFacts } from '../licensing/rule-membership.ts';
import type { Aggregates } from '../store/store.ts';
import type { RuleFact } from '../../shared/rules/index.ts';
import type { DirectoryRow } from '../store/queries/directories.ts';
import { withDirectory, type DirectoryLogin, type DirectorySession } from './ldap.ts';
import { recomputeUsers } from '../licensing/recompute-users.ts';
import { applyUserMembers, readUserGroups, type UserApplied } from './user-sync.ts';
import { indexDevices, matchComputers, type Ambiguous, type Computer } from './match.ts';
import type { PasswordBox } from './secret.ts';
import { walkGroup } from './walk.ts';
import { compareWithAliases, readNetbiosDomains } from './netbios.ts';
import type { DirectoryTest } from '../../shared/schemas/directories.ts';

export interface SyncCounts {
  /** Directory groups of this directory synced. */
  groups: number;
  /** Groups read in the directory (roots and nested). */
  directoryGroups: number;
  /** Distinct computer objects found, over all groups. */
  computers: number;
  /** Memberships that matched a device, over all groups. */
  matched: number;
  unmatched: number;
  ambiguous: number;
  added: number;
  removed: number;
  /** LDAP requests of this sync. */
  queries: number;
  /** Directory user groups (issue 16); absent when the directory has none. */
  userGroups?: number; people?: number; peopleAdded?: number; peopleRemoved?: number; peopleSkipped?: number;
}

export interface SyncResult {
  ok: boolean; at: string; error: string | null; counts: SyncCounts | null; ambiguous: Ambiguous[]; devicesChanged: number;
  /** People whose user-licence answer moved, and user objects skipped for want of a valid sign-in name (issue 16). */
  peopleChanged: number; skippedUsers: UserApplied['skipped'];
}

/** What LDAP says: each directory group's computer objects. */
export async function readGroups(login: DirectoryLogin, groups: { id: string; dn: string }[]): Promise<{ byGroup: Map<string, Computer[]>; directoryGroups: number; queries: number }> {
  return withDirectory(login, (s) => readGroupsIn(s, groups));
}

/** readGroups in an open session (the sync reads device and user groups in one bind). */
export async function readGroupsIn(s: DirectorySession, groups: { id: string; dn: string }[]): Promise<{ byGroup: Map<string, Computer[]>; directoryGroups: number; queries: number }> {
  const byGroup = new Map<string, Computer[]>();
  let directoryGroups = 0;
  // One paged search for every computer under the base DN saves a read per member; skipped when no group needs it.
  const known = groups.length > 0 ? await s.computers() : new Map();
  for (const g of groups) {
    const w = await walkGroup(g.dn, known, (dn) => s.read(dn));
    byGroup.set(g.id, w.computers);
    directoryGroups += w.groups;
  }
  return { byGroup, directoryGroups, queries: s.queries };
}

const HOSTNAME: ReadonlySet<RuleFact> = new Set(['hostname']);

/** Inside the caller's transaction: members of each group become the devices its computers match (also place.ts, at an enrollment). */
export async function applyMembers(tx: Aggregates, byGroup: Map<string, Computer[]>, at: string): Promise<Omit<SyncCounts, 'groups' | 'directoryGroups' | 'queries'> & { ambiguousList: Ambiguous[] }> {
  const byHost = indexDevices((await loadFacts(tx, undefined, HOSTNAME)).map((d) => ({ id: d.id, hostname: d.facts.hostname ?? null })));
  const ids = [...byGroup.keys()];
  const have = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
  for (const m of await tx.directories.members(ids)) have.get(m.group_id)!.add(m.device_id);
  const out = { computers: 0, matched: 0, unmatched: 0, ambiguous: 0, added: 0, removed: 0, ambiguousList: [] as Ambiguous[] };
  const dns = new Set<string>();
  for (const [groupId, computers] of byGroup) {
    for (const c of computers) dns.add(c.dn.toLowerCase());
    const m = matchComputers(computers, byHost);
    out.matched += m.devices.size;
    out.unmatched += m.unmatched.length;
    out.ambiguous += m.ambiguous.length;
    out.ambiguousList.push(...m.ambiguous);
    const h = have.get(groupId)!;
    // Sorted: devices join in a stable order, which decides who gets a seat first when seats are short.
    out.added += await tx.directories.addMembers(groupId, [...m.devices].filter((d) => !h.has(d)).sort(), at);
    out.removed += await tx.directories.removeMembers(groupId, [...h].filter((d) => !m.devices.has(d)));
  }
  out.computers = dns.size;
  return out;
}

export function loginOf(row: DirectoryRow, box: PasswordBox): DirectoryLogin {
  return { url: row.url, bindDn: row.bind_dn, password: box.open(row.id, row.bind_password), baseDn: row.base_dn, ca: row.ca_cert, startTls: Number(row.start_tls) === 1 };
}

/**
 * Syncs one directory. `actor`: who asked (on demand; audited even when
 * nothing moved), or null for the periodic sync (audited only when a
 * membership moved or the sync failed after succeeding before).
 */
export async function syncDirectory(ctx: LicensingContext, box: PasswordBox, row: DirectoryRow, actor: Actor | null): Promise<SyncResult> {
  const started = ctx.now();
  const groups = await ctx.store.directories.groupsOf(row.id);
  const userGroups = await ctx.store.userGroups.directoryGroups(row.id);
  let read: Awaited<ReturnType<typeof readGroups>>;
  let readUsers: Awaited<ReturnType<typeof readUserGroups>>;
  try {
    ({ read, readUsers } = await withDirectory(loginOf(row, box), async (s) => {
      const d = await readGroupsIn(s, groups);
      const u = await readUserGroups(s, userGroups);
      return { read: { ...d, queries: s.queries }, readUsers: u };
    }));
  } catch (e) {
    if (!isDevlicError(e)) throw e;
    const at = ctx.nowIso();
    await ctx.store.transaction(async (tx) => {
      await tx.directories.recordSync(row.id, { at, ok: false, error: e.message, counts: null });
      if (actor || Number(row.last_sync_ok) !== 0) {
        await tx.audit.insert({ at, actorId: (actor ?? SYSTEM).id, actorName: (actor ?? SYSTEM).name, action: 'directory.sync-failed', target: row.id, details: { name: row.name, error: e.message } });
      }
    });
    return { ok: false, at, error: e.message, counts: null, ambiguous: [], devicesChanged: 0, peopleChanged: 0, skippedUsers: [] };
  }
  return ctx.store.transaction(async (tx) => {
    const at = ctx.nowIso();
    // Groups deleted (or moved to another directory) while LDAP was read are left alone.
    const still = new Set((await tx.directories.groupsOf(row.id)).map((g) => g.id));
    for (const id of [...read.byGroup.keys()]) if (!still.has(id)) read.byGroup.delete(id);
    const { ambiguousList, ...m } = await applyMembers(tx, read.byGroup, at);
    const stillUsers = new Set((await tx.userGroups.directoryGroups(row.id)).map((g) => g.id));
    for (const id of [...readUsers.byGroup.keys()]) if (!stillUsers.has(id)) readUsers.byGroup.delete(id);
    const { skipped, changedGroups, ...um } = await applyUserMembers(tx, readUsers.byGroup, new Map(userGroups.map((g) => [g.id, g.name])), at);
    // Kept for enrollments between syncs (place.ts).
    for (const [groupId, computers] of read.byGroup) await tx.directories.saveComputers(groupId, computers, at);
    const counts: SyncCounts = {
      groups: read.byGroup.size, directoryGroups: read.directoryGroups + readUsers.directoryGroups, queries: read.queries, ...m, ...(um.userGroups > 0 ? um : {}),
    };
    const changed = m.added + m.removed > 0 ? await recomputeEntitlements(tx, ctx.now()) : [];
    tx.changed(changed);
    // People's licences move with the membership, in this transaction (a person leaving the group frees their seat).
    const people = um.peopleAdded + um.peopleRemoved > 0 ? await recomputeUsers(tx, ctx.now()) : { changed: [], lostSeat: [], gotSeat: [] };
    if (people.changed.length) tx.changed(people.changed, 'user-entitlement');
    // Open consoles re-read the user groups that gained or lost people (admin-events.ts), after commit like the rest.
    tx.changed(changedGroups, 'user-group');
    await tx.directories.recordSync(row.id, { at, ok: true, error: null, counts: JSON.stringify(counts) });
    if (actor || m.added + m.removed + um.peopleAdded + um.peopleRemoved > 0) {
      const who = actor ?? SYSTEM;
      const peopleDetails = um.userGroups > 0
        ? { peopleChanged: people.changed.length, peopleLosingLicence: people.lostSeat.length, peopleGettingLicence: people.gotSeat.length, ...(skipped.length ? { skippedUsers: skipped.slice(0, 20) } : {}) }
        : {};
      await tx.audit.insert({
        at, actorId: who.id, actorName: who.name, action: 'directory.sync', target: row.id,
        details: { name: row.name, ...counts, devicesChanged: changed.length, ...peopleDetails, ms: ctx.now() - started, ...(ambiguousList.length ? { ambiguous: ambiguousList.slice(0, 20) } : {}) },
      });
    }
    return { ok: true, at, error: null, counts, ambiguous: ambiguousList, devicesChanged: changed.length, peopleChanged: people.changed.length, skippedUsers: skipped };
  });
}

const SYSTEM = { id: 'system', name: 'devlic-server (directory sync)' };

/** Bind and read the base DN only: checks a directory's settings without touching any group. */
/** `q`: for comparing the forest's NetBIOS domains (Active Directory) with the sign-in domain aliases in force. */
export async function testDirectory(row: DirectoryRow, box: PasswordBox, q: Aggregates): Promise<DirectoryTest> {
  const found = await withDirectory(loginOf(row, box), async (s) => {
    const base = await s.read(row.base_dn);
    if (base === null) throw new DevlicError('DIRECTORY_FAILED', `the directory has no base DN '${row.base_dn}'`);
    const computers = await s.computers();
    const netbios = await readNetbiosDomains(s);
    return { computers: computers.size, netbios, queries: s.queries };
  });
  const aliases = new Map((await q.signInDomains.listed()).map((r) => [r.netbios, r.dns_domain!]));
  return {
    ok: true as const, computers: found.computers, queries: found.queries,
    ...(found.netbios ? { netbiosDomains: compareWithAliases(found.netbios, aliases) } : {}),
  };
}
