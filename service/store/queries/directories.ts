// Directory groups (issue 14): the LDAP / Active Directory connections
// (bind password sealed, see service/directories/secret.ts), their sync
// state, the groups whose members come from a directory group, and what the
// last sync read of each of those (directory_computers), which an
// enrollment is matched against (service/directories/enrolled.ts).
import type { SqlConn, SqlValue } from '../sql.ts';
import { keysOf, type Computer } from '../../directories/match.ts';
import { bulkMembershipQueries } from './group-members-bulk.ts';

export interface DirectoryRow {
  id: string; name: string; url: string; bind_dn: string; bind_password: string; base_dn: string;
  sync_seconds: number; created_at: string; next_sync_at: string;
  last_sync_at: string | null; last_sync_ok: number | null; last_sync_error: string | null; last_sync_counts: string | null;
  /** PEM of the CA certificate(s) trusted for this directory's TLS (null: the system's CAs). */
  ca_cert: string | null;
  /** 1: upgrade an ldap:// connection with StartTLS before binding. */
  start_tls: number;
}

/** The settings `directories update` can change (the password already sealed). */
export interface DirectoryChanges {
  url?: string; bindDn?: string; sealedPassword?: string; baseDn?: string; syncSeconds?: number; caCert?: string | null; startTls?: boolean;
}

const COLUMNS: Record<keyof DirectoryChanges, string> = {
  url: 'url', bindDn: 'bind_dn', sealedPassword: 'bind_password', baseDn: 'base_dn', syncSeconds: 'sync_seconds', caCert: 'ca_cert', startTls: 'start_tls',
};

export interface NewDirectory {
  id: string; name: string; url: string; bindDn: string; sealedPassword: string; baseDn: string; syncSeconds: number; at: string;
  caCert: string | null; startTls: boolean;
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
      await c.run(`INSERT INTO directories (id, name, url, bind_dn, bind_password, base_dn, sync_seconds, created_at, next_sync_at, ca_cert, start_tls)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [d.id, d.name, d.url, d.bindDn, d.sealedPassword, d.baseDn, d.syncSeconds, d.at, d.at, d.caCert, d.startTls ? 1 : 0]);
    },
    /** Changes the given settings; `nextSyncAt` brings the next periodic sync forward (never back). */
    async update(id: string, changes: DirectoryChanges, nextSyncAt?: string): Promise<void> {
      const keys = (Object.keys(changes) as (keyof DirectoryChanges)[]).filter((k) => changes[k] !== undefined);
      const values: SqlValue[] = keys.map((k) => (k === 'startTls' ? (changes.startTls ? 1 : 0) : changes[k] as SqlValue));
      const sets = keys.map((k) => `${COLUMNS[k]} = ?`);
      if (nextSyncAt !== undefined) {
        sets.push('next_sync_at = CASE WHEN next_sync_at > ? THEN ? ELSE next_sync_at END');
        values.push(nextSyncAt, nextSyncAt);
      }
      if (sets.length === 0) return;
      await c.run(`UPDATE directories SET ${sets.join(', ')} WHERE id = ?`, [...values, id]);
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
    /** Replaces what a sync read of a directory group: its computer objects, with their match keys. */
    async saveComputers(groupId: string, computers: readonly Computer[], at: string): Promise<void> {
      await c.run('UPDATE groups SET directory_read_at = ? WHERE id = ?', [at, groupId]);
      await c.run('DELETE FROM directory_computers WHERE group_id = ?', [groupId]);
      if (computers.length === 0) return;
      const rows = computers.map((x) => { const k = keysOf(x); return [x.dn, x.cn, x.dnsHostName, k[0] ?? null, k[1] ?? null, k[2] ?? null]; });
      if (c.dialect === 'postgres') {
        // One statement for a whole group (10,000 rows in a big directory), not a round trip per row.
        const col = (i: number) => rows.map((r) => r[i]) as unknown as SqlValue;
        await c.run(`INSERT INTO directory_computers (group_id, dn, cn, dns_host_name, k1, k2, k3)
          SELECT ?, * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])`, [groupId, col(0), col(1), col(2), col(3), col(4), col(5)]);
        return;
      }
      await c.runMany('INSERT INTO directory_computers (group_id, dn, cn, dns_host_name, k1, k2, k3) VALUES (?, ?, ?, ?, ?, ?, ?)', rows.map((r) => [groupId, ...r]));
    },
    /** Directory groups one of whose computers has one of these match keys. */
    async groupsWithKeys(keys: readonly string[]): Promise<string[]> {
      if (keys.length === 0) return [];
      const list = keys.map(() => '?').join(', ');
      const rows = await c.all<{ group_id: string }>(`SELECT DISTINCT group_id FROM directory_computers WHERE k1 IN (${list}) OR k2 IN (${list}) OR k3 IN (${list})`, [...keys, ...keys, ...keys]);
      return rows.map((r) => r.group_id);
    },
    /** What the last sync read of these groups: their computer objects. */
    async computersOf(groupIds: readonly string[]): Promise<Map<string, Computer[]>> {
      const out = new Map<string, Computer[]>(groupIds.map((id) => [id, []]));
      if (groupIds.length === 0) return out;
      const rows = await c.all<{ group_id: string; dn: string; cn: string | null; dns_host_name: string | null }>(
        `SELECT group_id, dn, cn, dns_host_name FROM directory_computers WHERE group_id IN (${groupIds.map(() => '?').join(', ')}) ORDER BY group_id, dn`, [...groupIds]);
      for (const r of rows) out.get(r.group_id)!.push({ dn: r.dn, cn: r.cn, dnsHostName: r.dns_host_name });
      return out;
    },
    /** The directory groups, read by a sync since they were kept (directory_read_at), that a device is a member of now. */
    async directoryGroupsOf(deviceId: string): Promise<string[]> {
      const rows = await c.all<{ group_id: string }>(`SELECT m.group_id FROM group_members m JOIN groups g ON g.id = m.group_id
        WHERE m.device_id = ? AND g.directory_id IS NOT NULL AND g.directory_read_at IS NOT NULL`, [deviceId]);
      return rows.map((r) => r.group_id);
    },
    /** Current members of the given groups. */
    members(groupIds: string[]): Promise<{ group_id: string; device_id: string }[]> {
      if (groupIds.length === 0) return Promise.resolve([]);
      return c.all(`SELECT group_id, device_id FROM group_members WHERE group_id IN (${groupIds.map(() => '?').join(', ')})`, groupIds);
    },
  };
}
export type DirectoryQueries = ReturnType<typeof directoryQueries>;
