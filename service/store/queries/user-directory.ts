// Directory user groups (issue 16): user groups whose members are a
// directory group's user objects, kept by the directory sync
// (service/directories/user-sync.ts). Membership is written in bulk, as for
// directory device groups (group-members-bulk.ts): one set-based statement on
// PostgreSQL, one prepared statement per row on SQLite.
import type { SqlConn, SqlValue } from '../sql.ts';

export interface UserGroupDirectory { id: string; name: string; dn: string }

export function userDirectoryQueries(c: SqlConn) {
  return {
    async setDirectory(groupId: string, directoryId: string, dn: string): Promise<void> {
      await c.run('UPDATE user_groups SET directory_id = ?, directory_dn = ? WHERE id = ?', [directoryId, dn, groupId]);
    },
    /** The directory a user group follows, or undefined for a manual one. */
    directoryOf(groupId: string): Promise<UserGroupDirectory | undefined> {
      return c.get('SELECT d.id, d.name, g.directory_dn AS dn FROM user_groups g JOIN directories d ON d.id = g.directory_id WHERE g.id = ?', [groupId]);
    },
    /** The user groups that take their members from this directory. */
    directoryGroups(directoryId: string): Promise<{ id: string; name: string; dn: string }[]> {
      return c.all('SELECT id, name, directory_dn AS dn FROM user_groups WHERE directory_id = ? ORDER BY name', [directoryId]);
    },
    /** Current members of the given user groups. */
    membersOf(groupIds: readonly string[]): Promise<{ group_id: string; user_name: string }[]> {
      if (groupIds.length === 0) return Promise.resolve([]);
      return c.all(`SELECT group_id, user_name FROM user_group_members WHERE group_id IN (${groupIds.map(() => '?').join(', ')})`, [...groupIds]);
    },
    /** Adds people in the order given (their seat order), skipping members already there; the count added. */
    async addMembers(groupId: string, users: readonly string[], at: string): Promise<number> {
      if (users.length === 0) return 0;
      if (c.dialect === 'postgres') {
        return (await c.run(`INSERT INTO user_group_members (group_id, user_name, added_at)
          SELECT ?, u, ? FROM unnest(?::text[]) WITH ORDINALITY AS x(u, n) ORDER BY n
          ON CONFLICT (group_id, user_name) DO NOTHING`, [groupId, at, users as unknown as SqlValue])).changes;
      }
      return (await c.runMany('INSERT INTO user_group_members (group_id, user_name, added_at) VALUES (?, ?, ?) ON CONFLICT (group_id, user_name) DO NOTHING',
        users.map((u) => [groupId, u, at]))).changes;
    },
    /** Takes people out of a user group; the count that were members. */
    async removeMembers(groupId: string, users: readonly string[]): Promise<number> {
      if (users.length === 0) return 0;
      if (c.dialect === 'postgres') {
        return (await c.run('DELETE FROM user_group_members WHERE group_id = ? AND user_name = ANY(?::text[])', [groupId, users as unknown as SqlValue])).changes;
      }
      return (await c.runMany('DELETE FROM user_group_members WHERE group_id = ? AND user_name = ?', users.map((u) => [groupId, u]))).changes;
    },
    /** What the last good sync found for this group (JSON: UserGroupSync in shared/schemas/user-admin.ts). */
    async setDirectorySync(groupId: string, json: string): Promise<void> {
      await c.run('UPDATE user_groups SET directory_sync = ? WHERE id = ?', [json, groupId]);
    },
  };
}
