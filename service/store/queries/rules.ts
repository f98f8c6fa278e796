// Rule-based groups (issue 14): the rules, the facts rules read (reported
// facts, agent version, admin-set tags) and the rule groups' memberships.
import type { SqlConn } from '../sql.ts';
import { bulkMembershipQueries } from './group-members-bulk.ts';

export interface FactsRow { id: string; facts: string; agent_version: string | null; os_version: string | null }

export function ruleQueries(c: SqlConn) {
  return {
    ...bulkMembershipQueries(c),
    /** Every group that has a rule. */
    groups(): Promise<{ id: string; rule: string }[]> {
      return c.all('SELECT id, rule FROM groups WHERE rule IS NOT NULL ORDER BY id');
    },
    ruleOf(groupId: string): Promise<string | null> {
      return c.get<{ rule: string | null }>('SELECT rule FROM groups WHERE id = ?', [groupId]).then((r) => r?.rule ?? null);
    },
    async setRule(groupId: string, rule: string | null): Promise<void> {
      await c.run('UPDATE groups SET rule = ? WHERE id = ?', [rule, groupId]);
    },
    /** Devices in service (not retired) with their facts: all, or one. */
    facts(deviceId?: string): Promise<FactsRow[]> {
      return deviceId === undefined
        ? c.all('SELECT id, facts, agent_version, os_version FROM devices WHERE retired_at IS NULL')
        : c.all('SELECT id, facts, agent_version, os_version FROM devices WHERE retired_at IS NULL AND id = ?', [deviceId]);
    },
    /**
     * SQLite only (null on PostgreSQL): devices in service with the named
     * enrollment facts taken out of the JSON by SQLite itself, so 100,000
     * facts documents are not sent to and parsed in JavaScript (the rule
     * recompute's largest cost, bench/rule-recompute.ts). `names` come from
     * a fixed list (rule facts), never from input. A malformed facts
     * document makes the query throw: the caller then reads them as text.
     */
    async extractedFacts(names: readonly ('hostname' | 'os' | 'manufacturer' | 'model' | 'serial')[], deviceId?: string): Promise<(Omit<FactsRow, 'facts'> & Record<string, unknown>)[] | null> {
      if (c.dialect !== 'sqlite') return null;
      const cols = names.map((n) => `json_extract(facts, '$.${n}') AS f_${n}`).join(', ');
      const sql = `SELECT id, agent_version, os_version${cols ? `, ${cols}` : ''} FROM devices WHERE retired_at IS NULL`;
      return deviceId === undefined ? c.all(sql) : c.all(`${sql} AND id = ?`, [deviceId]);
    },
    tags(deviceId?: string): Promise<{ device_id: string; tag: string }[]> {
      return deviceId === undefined
        ? c.all('SELECT device_id, tag FROM device_tags ORDER BY device_id, tag')
        : c.all('SELECT device_id, tag FROM device_tags WHERE device_id = ? ORDER BY tag', [deviceId]);
    },
    /** Adds a tag; false when the device had it already. */
    async addTag(deviceId: string, tag: string, at: string): Promise<boolean> {
      return (await c.run('INSERT INTO device_tags (device_id, tag, added_at) VALUES (?, ?, ?) ON CONFLICT (device_id, tag) DO NOTHING', [deviceId, tag, at])).changes > 0;
    },
    async removeTag(deviceId: string, tag: string): Promise<boolean> {
      return (await c.run('DELETE FROM device_tags WHERE device_id = ? AND tag = ?', [deviceId, tag])).changes > 0;
    },
    /** Current members of the given groups: all devices, or one. */
    members(groupIds: string[], deviceId?: string): Promise<{ group_id: string; device_id: string }[]> {
      if (groupIds.length === 0) return Promise.resolve([]);
      const marks = groupIds.map(() => '?').join(', ');
      return deviceId === undefined
        ? c.all(`SELECT group_id, device_id FROM group_members WHERE group_id IN (${marks})`, groupIds)
        : c.all(`SELECT group_id, device_id FROM group_members WHERE group_id IN (${marks}) AND device_id = ?`, [...groupIds, deviceId]);
    },
    /** A group's direct members, earliest first (for `groups show`). */
    membersOf(groupId: string, limit: number): Promise<{ id: string; name: string }[]> {
      return c.all('SELECT d.id, d.name FROM group_members m JOIN devices d ON d.id = m.device_id WHERE m.group_id = ? ORDER BY m.ord LIMIT ?', [groupId, limit]);
    },
  };
}
export type RuleQueries = ReturnType<typeof ruleQueries>;
