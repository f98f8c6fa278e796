// Groups: names, nesting (group_children) and membership (group_members,
// whose ord is the global "earliest member first" order for seats).
import type { SqlConn } from '../sql.ts';
import { nameQueries } from './names.ts';
import { deviceKey } from './devices.ts';

export interface Edge { parent: string; child: string }

export function groupQueries(c: SqlConn) {
  return {
    ...nameQueries(c, 'groups'),
    async nameTaken(name: string, exceptId?: string): Promise<boolean> {
      return exceptId === undefined
        ? !!(await c.get('SELECT 1 AS x FROM groups WHERE lower(name) = lower(?)', [name]))
        : !!(await c.get('SELECT 1 AS x FROM groups WHERE lower(name) = lower(?) AND id <> ?', [name, exceptId]));
    },
    async insert(id: string, name: string, at: string): Promise<void> {
      await c.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [id, name, at]);
    },
    async rename(id: string, name: string): Promise<void> {
      await c.run('UPDATE groups SET name = ? WHERE id = ?', [name, id]);
    },
    ref(id: string): Promise<{ id: string; name: string } | undefined> {
      return c.get('SELECT id, name FROM groups WHERE id = ?', [id]);
    },
    /** Nests child in parent; false when it already was. */
    async nest(parent: string, child: string, at: string): Promise<boolean> {
      return (await c.run('INSERT INTO group_children (parent_id, child_id, created_at) VALUES (?, ?, ?) ON CONFLICT (parent_id, child_id) DO NOTHING',
        [parent, child, at])).changes > 0;
    },
    async unnest(parent: string, child: string): Promise<boolean> {
      return (await c.run('DELETE FROM group_children WHERE parent_id = ? AND child_id = ?', [parent, child])).changes > 0;
    },
    edges(): Promise<Edge[]> {
      return c.all('SELECT parent_id AS parent, child_id AS child FROM group_children');
    },
    /** Adds a device to a group; false when it was a member already. */
    async addMember(groupId: string, deviceId: string, at: string): Promise<boolean> {
      return (await c.run('INSERT INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?) ON CONFLICT (group_id, device_id) DO NOTHING',
        [groupId, deviceId, at])).changes > 0;
    },
    async removeMember(groupId: string, deviceId: string): Promise<boolean> {
      return (await c.run('DELETE FROM group_members WHERE group_id = ? AND device_id = ?', [groupId, deviceId])).changes > 0;
    },
    async memberCount(groupId: string): Promise<number> {
      return (await c.get<{ n: number }>('SELECT COUNT(*) AS n FROM group_members WHERE group_id = ?', [groupId]))!.n;
    },
    /**
     * Every membership with the device's integer key (deviceKey), for the
     * seat allocation: one row per group, its members' keys and ords as two
     * JSON arrays in the same order (both aggregates see the group's rows in
     * one pass), instead of one row object per membership.
     */
    async memberGroups(): Promise<{ groupId: string; deviceKeys: number[]; ords: number[] }[]> {
      const agg = c.dialect === 'postgres' ? (x: string) => `json_agg(${x})::text` : (x: string) => `json_group_array(${x})`;
      const rows = await c.all<{ groupId: string; keys: string; ords: string }>(`SELECT m.group_id AS "groupId", ${agg(deviceKey(c))} AS keys, ${agg('m.ord')} AS ords
        FROM group_members m JOIN devices d ON d.id = m.device_id GROUP BY m.group_id`);
      return rows.map((r) => ({ groupId: r.groupId, deviceKeys: JSON.parse(r.keys), ords: JSON.parse(r.ords) }));
    },
    /** Deletes a group with its memberships, nestings, reach and enrollment-token links (the devices stay). */
    async delete(id: string): Promise<void> {
      await c.run('DELETE FROM group_members WHERE group_id = ?', [id]);
      await c.run('DELETE FROM group_children WHERE parent_id = ? OR child_id = ?', [id, id]);
      await c.run('UPDATE enroll_tokens SET group_id = NULL WHERE group_id = ?', [id]);
      await c.run('DELETE FROM group_reach WHERE group_id = ?', [id]);
      await c.run('DELETE FROM directory_computers WHERE group_id = ?', [id]);
      await c.run('DELETE FROM groups WHERE id = ?', [id]);
    },
  };
}
export type GroupQueries = ReturnType<typeof groupQueries>;
