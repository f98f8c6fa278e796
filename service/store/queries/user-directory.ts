// Directory user groups (issue 16): user groups whose members are a
// directory group's user objects, kept by the directory sync
// (service/directories/user-sync.ts). Membership is written in bulk, as for
// directory device groups (group-members-bulk.ts): one set-based statement on
// PostgreSQL, one prepared statement per row on SQLite.
import type { SqlConn } from '../sql.ts';
import { bulkMemberWriter } from './group-members-bulk.ts';

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
    /** Adds people in the order given (their seat order), skipping members already there; takes people out; counts. */
    ...bulkMemberWriter(c, { table: 'user_group_members', member: 'user_name' }),
    /** What the last good sync found for this group (JSON: UserGroupSync in shared/schemas/user-admin.ts). */
    async setDirectorySync(groupId: string, json: string): Promise<void> {
      await c.run('UPDATE user_groups SET directory_sync = ? WHERE id = ?', [json, groupId]);
    },
  };
}
