// Per-user licences (issue 16): user groups, their members (normalised
// sign-in names, shared/sign-in.ts), their assignments to subscriptions of
// user products, and each person's current answer (user_entitlements, whose
// seq grows on every change so agents can tell newer from older).
import type { SqlConn } from '../sql.ts';
import { nameQueries } from './names.ts';
import { userDirectoryQueries } from './user-directory.ts';

export interface UserEntitlementRow {
  user_name: string; seq: number; status: 'licensed' | 'unlicensed'; reason: string;
  product_sku: string | null; subscription_id: string | null; group_id: string | null;
}

export interface UserEntitlementWrite {
  user: string; status: string; reason: string; product: string | null; subscription: string | null; group: string | null;
}

/** A member and their answer's row; the answer's columns are null for a person with no row. */
export type MemberAnswerRow = { [K in keyof UserEntitlementRow]: K extends 'user_name' ? string : UserEntitlementRow[K] | null };

export interface UserGroupRow {
  id: string; name: string; created_at: string; members: number; sub_id: string | null; sub_name: string | null;
  /** The directory the group follows (null: manual members), and the directory's last sync. */
  dir_id: string | null; dir_name: string | null; dir_dn: string | null; dir_sync: string | null;
  dir_last_at: string | null; dir_last_ok: number | null; dir_last_error: string | null;
}

export function userGroupQueries(c: SqlConn) {
  return {
    ...nameQueries(c, 'user_groups'),
    ...userDirectoryQueries(c),
    /** With `except`: taken by another group (a rename to another spelling of its own name is allowed). */
    async nameTaken(name: string, except?: string): Promise<boolean> {
      return !!(await c.get('SELECT 1 AS x FROM user_groups WHERE lower(name) = lower(?) AND id <> ?', [name, except ?? '']));
    },
    async rename(id: string, name: string): Promise<void> {
      await c.run('UPDATE user_groups SET name = ? WHERE id = ?', [name, id]);
    },
    /** Deletes a group with its members (the people's answers are the recompute's). Assignments must be gone first. */
    async delete(id: string): Promise<void> {
      await c.run('DELETE FROM user_group_members WHERE group_id = ?', [id]);
      await c.run('DELETE FROM user_groups WHERE id = ?', [id]);
    },
    async insert(id: string, name: string, at: string): Promise<void> {
      await c.run('INSERT INTO user_groups (id, name, created_at) VALUES (?, ?, ?)', [id, name, at]);
    },
    ref(id: string): Promise<{ id: string; name: string } | undefined> {
      return c.get('SELECT id, name FROM user_groups WHERE id = ?', [id]);
    },
    list(id?: string): Promise<UserGroupRow[]> {
      return c.all(`SELECT g.id, g.name, g.created_at,
          (SELECT COUNT(*) FROM user_group_members m WHERE m.group_id = g.id) AS members,
          s.id AS sub_id, s.name AS sub_name,
          d.id AS dir_id, d.name AS dir_name, g.directory_dn AS dir_dn, g.directory_sync AS dir_sync,
          d.last_sync_at AS dir_last_at, d.last_sync_ok AS dir_last_ok, d.last_sync_error AS dir_last_error
        FROM user_groups g LEFT JOIN user_assignments a ON a.group_id = g.id LEFT JOIN subscriptions s ON s.id = a.subscription_id
        LEFT JOIN directories d ON d.id = g.directory_id
        ${id === undefined ? '' : 'WHERE g.id = ?'} ORDER BY g.name`, id === undefined ? [] : [id]);
    },
    /** Members in the order they were added (the seat order), at most `limit`. */
    async members(groupId: string, limit: number): Promise<string[]> {
      return (await c.all<{ user_name: string }>('SELECT user_name FROM user_group_members WHERE group_id = ? ORDER BY ord LIMIT ?', [groupId, limit]))
        .map((r) => r.user_name);
    },
    /**
     * One page of members in seat order, each joined to their answer's row
     * (null when there is none: never licensed), and how many members in
     * all: two queries per page however many people it shows.
     */
    async membersWithAnswers(groupId: string, limit: number, offset: number): Promise<{ rows: MemberAnswerRow[]; total: number }> {
      const [rows, n] = await Promise.all([
        c.all<MemberAnswerRow>(
          `SELECT m.user_name, e.seq, e.status, e.reason, e.product_sku, e.subscription_id, e.group_id
            FROM user_group_members m LEFT JOIN user_entitlements e ON e.user_name = m.user_name
            WHERE m.group_id = ? ORDER BY m.ord LIMIT ? OFFSET ?`, [groupId, limit, offset]),
        c.get<{ n: number }>('SELECT COUNT(*) AS n FROM user_group_members WHERE group_id = ?', [groupId]),
      ]);
      return { rows, total: Number(n?.n ?? 0) };
    },
    /** Adds one member; false when already one. */
    async addMember(groupId: string, user: string, at: string): Promise<boolean> {
      return (await c.run('INSERT INTO user_group_members (group_id, user_name, added_at) VALUES (?, ?, ?) ON CONFLICT (group_id, user_name) DO NOTHING',
        [groupId, user, at])).changes > 0;
    },
    async removeMember(groupId: string, user: string): Promise<boolean> {
      return (await c.run('DELETE FROM user_group_members WHERE group_id = ? AND user_name = ?', [groupId, user])).changes > 0;
    },
    allMemberships(): Promise<{ group_id: string; user_name: string; ord: number }[]> {
      return c.all('SELECT group_id, user_name, ord FROM user_group_members');
    },

    // Assignments (a user product's subscription licensing a user group).
    assignmentOfGroup(groupId: string): Promise<{ id: string; name: string } | undefined> {
      return c.get('SELECT s.id, s.name FROM user_assignments a JOIN subscriptions s ON s.id = a.subscription_id WHERE a.group_id = ?', [groupId]);
    },
    async assignmentId(subscriptionId: string, groupId: string): Promise<string | null> {
      return (await c.get<{ id: string }>('SELECT id FROM user_assignments WHERE subscription_id = ? AND group_id = ?', [subscriptionId, groupId]))?.id ?? null;
    },
    async assign(id: string, subscriptionId: string, groupId: string, at: string): Promise<void> {
      await c.run('INSERT INTO user_assignments (id, subscription_id, group_id, created_at) VALUES (?, ?, ?, ?)', [id, subscriptionId, groupId, at]);
    },
    async unassign(id: string): Promise<void> {
      await c.run('DELETE FROM user_assignments WHERE id = ?', [id]);
    },
    allAssignments(): Promise<{ subscription_id: string; group_id: string }[]> {
      return c.all('SELECT subscription_id, group_id FROM user_assignments');
    },
    listAssignments(): Promise<{ id: string; sub_id: string; sub_name: string; group_id: string; group_name: string; product_sku: string; created_at: string }[]> {
      return c.all(`SELECT a.id, s.id AS sub_id, s.name AS sub_name, g.id AS group_id, g.name AS group_name, s.product_sku, a.created_at
        FROM user_assignments a JOIN subscriptions s ON s.id = a.subscription_id JOIN user_groups g ON g.id = a.group_id ORDER BY g.name`);
    },

    // Each person's answer.
    allEntitlements(): Promise<UserEntitlementRow[]> {
      return c.all('SELECT user_name, seq, status, reason, product_sku, subscription_id, group_id FROM user_entitlements');
    },
    entitlement(user: string): Promise<(UserEntitlementRow & { product_name: string | null; term_end: string | null }) | undefined> {
      return c.get(`SELECT e.user_name, e.seq, e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, p.name AS product_name, s.term_end
        FROM user_entitlements e LEFT JOIN products p ON p.sku = e.product_sku LEFT JOIN subscriptions s ON s.id = e.subscription_id
        WHERE e.user_name = ?`, [user]);
    },
    /** First answers start at seq 2: seq 1 is what the service says about a person it has no row for (never licensed). */
    async insertEntitlements(rows: readonly UserEntitlementWrite[], at: string): Promise<void> {
      await c.runMany(`INSERT INTO user_entitlements (user_name, seq, status, reason, product_sku, subscription_id, group_id, changed_at)
        VALUES (?, 2, ?, ?, ?, ?, ?, ?)`, rows.map((r) => [r.user, r.status, r.reason, r.product, r.subscription, r.group, at]));
    },
    async updateEntitlements(rows: readonly UserEntitlementWrite[], at: string): Promise<void> {
      await c.runMany(`UPDATE user_entitlements SET seq = seq + 1, status = ?, reason = ?, product_sku = ?, subscription_id = ?, group_id = ?, changed_at = ?
        WHERE user_name = ?`, rows.map((r) => [r.status, r.reason, r.product, r.subscription, r.group, at, r.user]));
    },
    /** Seats of a user product's subscription count people: written over the device recompute's zeros. */
    async setUsage(subscriptionId: string, used: number, exhausted: number, reached: number): Promise<void> {
      await c.run(`INSERT INTO subscription_usage (subscription_id, seats_used, seats_exhausted, devices_reached) VALUES (?, ?, ?, ?)
        ON CONFLICT (subscription_id) DO UPDATE SET seats_used = excluded.seats_used, seats_exhausted = excluded.seats_exhausted, devices_reached = excluded.devices_reached`,
      [subscriptionId, used, exhausted, reached]);
    },
  };
}
export type UserGroupQueries = ReturnType<typeof userGroupQueries>;
