// Membership written in bulk for groups whose members the service keeps
// itself (rule and directory groups of devices, directory groups of people):
// one set-based statement on PostgreSQL (a row at a time would be a round
// trip each: 10,000 in a big first sync), one prepared statement per row on
// SQLite.
import type { SqlConn, SqlValue } from '../sql.ts';

/** The two membership tables; fixed names, never input. */
type MemberTable = { table: 'group_members'; member: 'device_id' } | { table: 'user_group_members'; member: 'user_name' };

export function bulkMemberWriter(c: SqlConn, { table, member }: MemberTable) {
  return {
    /** Adds members in the order given (their seat order), skipping members already there; the count added. */
    async addMembers(groupId: string, members: readonly string[], at: string): Promise<number> {
      if (members.length === 0) return 0;
      if (c.dialect === 'postgres') {
        return (await c.run(`INSERT INTO ${table} (group_id, ${member}, added_at)
          SELECT ?, m, ? FROM unnest(?::text[]) WITH ORDINALITY AS u(m, n) ORDER BY n
          ON CONFLICT (group_id, ${member}) DO NOTHING`, [groupId, at, members as unknown as SqlValue])).changes;
      }
      return (await c.runMany(`INSERT INTO ${table} (group_id, ${member}, added_at) VALUES (?, ?, ?) ON CONFLICT (group_id, ${member}) DO NOTHING`,
        members.map((m) => [groupId, m, at]))).changes;
    },
    /** Takes members out of a group; the count that were members. */
    async removeMembers(groupId: string, members: readonly string[]): Promise<number> {
      if (members.length === 0) return 0;
      if (c.dialect === 'postgres') {
        return (await c.run(`DELETE FROM ${table} WHERE group_id = ? AND ${member} = ANY(?::text[])`, [groupId, members as unknown as SqlValue])).changes;
      }
      return (await c.runMany(`DELETE FROM ${table} WHERE group_id = ? AND ${member} = ?`, members.map((m) => [groupId, m]))).changes;
    },
  };
}

/** Devices' group memberships (rule and directory groups). */
export function bulkMembershipQueries(c: SqlConn) {
  return bulkMemberWriter(c, { table: 'group_members', member: 'device_id' });
}
