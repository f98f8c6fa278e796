// Read models for per-user licences: user groups with members and licence,
// assignments of user products, and one person's current answer.
import type { Aggregates } from '../store/store.ts';
import type { UserAssignment, UserGroup, UserGroupSync, UserLicence } from '../../shared/schemas/user-admin.ts';
import type { UserGroupPeople } from '../../shared/schemas/user-group-people.ts';
import type { MemberAnswerRow } from '../store/queries/users.ts';

const MEMBERS_SHOWN = 1000;

export async function listUserGroups(q: Aggregates, id?: string): Promise<UserGroup[]> {
  const rows = await q.userGroups.list(id);
  return Promise.all(rows.map(async (g) => ({
    id: g.id, name: g.name, createdAt: g.created_at, memberCount: g.members,
    members: await q.userGroups.members(g.id, MEMBERS_SHOWN),
    subscription: g.sub_id ? { id: g.sub_id, name: g.sub_name! } : null,
    directory: g.dir_id ? {
      id: g.dir_id, name: g.dir_name!, dn: g.dir_dn!,
      lastSync: g.dir_last_at ? { at: g.dir_last_at, ok: Number(g.dir_last_ok) === 1, error: g.dir_last_error } : null,
      group: parseSync(g.dir_sync),
    } : null,
  })));
}

function parseSync(json: string | null): UserGroupSync | null {
  if (!json) return null;
  try { return JSON.parse(json) as UserGroupSync; } catch { return null; }
}

export async function listUserAssignments(q: Aggregates): Promise<UserAssignment[]> {
  return (await q.userGroups.listAssignments()).map((a) => ({
    id: a.id, subscription: { id: a.sub_id, name: a.sub_name }, userGroup: { id: a.group_id, name: a.group_name }, product: a.product_sku, createdAt: a.created_at,
  }));
}

/** A person the service has no row for was never licensed: seq 1, NOT_IN_LICENSED_GROUP (see queries/users.ts). */
export async function userLicence(q: Aggregates, user: string): Promise<UserLicence> {
  return licenceOf(user, await q.userGroups.entitlement(user) ?? null);
}

function licenceOf(user: string, r: Omit<MemberAnswerRow, 'user_name'> | null): UserLicence {
  if (!r || r.seq === null || r.status === null || r.reason === null) {
    return { user, seq: 1, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, userGroup: null };
  }
  return { user, seq: Number(r.seq), status: r.status, reason: r.reason, product: r.product_sku, subscription: r.subscription_id, userGroup: r.group_id };
}

/** One page of a user group's people, each answered as userLicence() answers them alone. */
export async function userGroupPeople(q: Aggregates, groupId: string, limit: number, offset: number): Promise<UserGroupPeople> {
  const { rows, total } = await q.userGroups.membersWithAnswers(groupId, limit, offset);
  return { items: rows.map((r) => licenceOf(r.user_name, r)), total, offset, limit };
}
