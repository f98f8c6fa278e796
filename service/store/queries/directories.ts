// Directory groups (issue 14): the LDAP / Active Directory connections
// (bind password sealed, see service/directories/secret.ts), their sync
// state, and the groups whose members come from a directory group.
import type { SqlConn } from '../sql.ts';
import { bulkMembershipQueries } from './group-members-bulk.ts';

export interface DirectoryRow {
  id: string; name: string; url: string; bind_dn: string; bind_password: string; base_dn: string;
  sync_seconds: number; created_at: string; next_sync_at: string;
  last_sync_at: string | null; last_sync_ok: number | null; last_sync_error: string | null; last_sync_counts: string | null;
}

export interface NewDirectory {
  id: string; name: string; url: string; bindDn: string; sealedPassword: string; baseDn: string; syncSeconds: number; at: string;
}

export function directoryQueries(c: SqlConn) {
  return {
    ...bulkMembershipQueries(c),
    all(): Promise<DirectoryRow[]> {
      return c.all('SELECT * FROM directories ORDER BY name');
    },
    byId(id: string): Promise<DirectoryRow | undefined> {
      return c.get('SELECT * FROM directories WHERE id = ?', [id]);
    },
    /** By id or (case-insensitive) name. */
    byRef(ref: string): Promise<DirectoryRow | undefined> {
      return c.get('SELECT * FROM directories WHERE id = ? OR lower(name) = lower(?) ORDER BY id = ? DESC LIMIT 1', [ref, ref, ref]);
    },
    async insert(d: NewDirectory): Promise<void> {
      await c.run(`INSERT INTO directories (id, name, url, bind_dn, bind_password, base_dn, sync_seconds, created_at, next_sync_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [d.id, d.name, d.url, d.bindDn, d.sealedPassword, d.baseDn, d.syncSeconds, d.at, d.at]);
    },
    async delete(id: string): Promise<void> {
      await c.run('DELETE FROM directories WHERE id = ?', [id]);
    },
    /**
     * Claims a periodic sync: moves next_sync_at forward only if it is due,
     * so of several replicas (or timer ticks) exactly one runs it.
     */
    async claimDue(id: string, now: string, next: string): Promise<boolean> {
      return (await c.run('UPDATE directories SET next_sync_at = ? WHERE id = ? AND next_sync_at <= ?', [next, id, now])).changes > 0;
    },
    async recordSync(id: string, r: { at: string; ok: boolean; error: string | null; counts: string | null }): Promise<void> {
      // A failed sync keeps the counts of the last good one: they describe the memberships still in place.
      await c.run(`UPDATE directories SET last_sync_at = ?, last_sync_ok = ?, last_sync_error = ?,
        last_sync_counts = COALESCE(?, last_sync_counts) WHERE id = ?`, [r.at, r.ok ? 1 : 0, r.error, r.counts, id]);
    },
    /** The groups that take their members from this directory. */
    groupsOf(directoryId: string): Promise<{ id: string; name: string; dn: string }[]> {
      return c.all('SELECT id, name, directory_dn AS dn FROM groups WHERE directory_id = ? ORDER BY name', [directoryId]);
    },
    async setGroupDirectory(groupId: string, directoryId: string, dn: string): Promise<void> {
      await c.run('UPDATE groups SET directory_id = ?, directory_dn = ? WHERE id = ?', [directoryId, dn, groupId]);
    },
    /** The directory a group follows, or undefined for a manual or rule group. */
    groupDirectory(groupId: string): Promise<{ id: string; name: string; dn: string } | undefined> {
      return c.get(`SELECT d.id, d.name, g.directory_dn AS dn FROM groups g JOIN directories d ON d.id = g.directory_id WHERE g.id = ?`, [groupId]);
    },
    /** Current members of the given groups. */
    members(groupIds: string[]): Promise<{ group_id: string; device_id: string }[]> {
      if (groupIds.length === 0) return Promise.resolve([]);
      return c.all(`SELECT group_id, device_id FROM group_members WHERE group_id IN (${groupIds.map(() => '?').join(', ')})`, groupIds);
    },
  };
}
export type DirectoryQueries = ReturnType<typeof directoryQueries>;
