// Membership written in bulk for groups whose members the service keeps
// itself (rule and directory groups): one set-based statement on PostgreSQL
// (a row at a time would be a round trip each: 10,000 in a big first sync),
// one prepared statement per row on SQLite.
import type { SqlConn, SqlValue } from '../sql.ts';

export function bulkMembershipQueries(c: SqlConn) {
  return {
    /** Adds devices in the order given (their seat order), skipping members already there; the count added. */
    async addMembers(groupId: string, deviceIds: readonly string[], at: string): Promise<number> {
      if (deviceIds.length === 0) return 0;
      if (c.dialect === 'postgres') {
        return (await c.run(`INSERT INTO group_members (group_id, device_id, added_at)
          SELECT ?, d, ? FROM unnest(?::text[]) WITH ORDINALITY AS u(d, n) ORDER BY n
          ON CONFLICT (group_id, device_id) DO NOTHING`, [groupId, at, deviceIds as unknown as SqlValue])).changes;
      }
      return (await c.runMany('INSERT INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?) ON CONFLICT (group_id, device_id) DO NOTHING',
        deviceIds.map((d) => [groupId, d, at]))).changes;
    },
    /** Takes devices out of a group; the count that were members. */
    async removeMembers(groupId: string, deviceIds: readonly string[]): Promise<number> {
      if (deviceIds.length === 0) return 0;
      if (c.dialect === 'postgres') {
        return (await c.run('DELETE FROM group_members WHERE group_id = ? AND device_id = ANY(?::text[])', [groupId, deviceIds as unknown as SqlValue])).changes;
      }
      return (await c.runMany('DELETE FROM group_members WHERE group_id = ? AND device_id = ?', deviceIds.map((d) => [groupId, d]))).changes;
    },
  };
}
