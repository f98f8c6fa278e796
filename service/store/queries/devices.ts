// Devices: enrollment, reports, disabling, the lifecycle (retire, restore,
// delete, stale) and merges (device_merges remembers retired ids).
import type { SqlConn } from '../sql.ts';
import { nameQueries } from './names.ts';

export interface DeviceRow {
  id: string; name: string; machine_id_hash: string; hardware_uuid: string; facts: string; public_key: string;
  last_seen_at: string | null; last_report: string | null; duplicate_of: string | null; enrolled_at: string;
  last_mode: string | null; last_enforced: string | null; agent_version: string | null; os_version: string | null;
}

export interface NewDevice {
  id: string; name: string; machineIdHash: string; hardwareUuid: string; facts: string; publicKey: string; enrolledAt: string; duplicateOf: string | null;
}

/**
 * The devices that hold one current answer (status null: no entitlement row
 * yet) and the same flags, as a recompute needs them: their integer keys
 * (what the allocation works on), their ids, and on SQLite the entitlement
 * rows' rowids (what the write addresses; null on PostgreSQL, which writes by
 * id). Arrays parallel, one entry per device.
 */
export interface DevicesByAnswer {
  status: string | null; reason: string | null; product_sku: string | null; subscription_id: string | null; group_id: string | null;
  disabled: number; retired: number; keys: number[]; ids: string[]; rows: (number | null)[] | null;
}

/**
 * A device's integer key as SQL on `devices d`: SQLite's rowid, PostgreSQL's
 * identity column `key`. Used only within one transaction (a recompute loads
 * the devices and the memberships by it), so that SQLite's VACUUM may
 * renumber rowids does not matter.
 */
export function deviceKey(c: SqlConn): string {
  return c.dialect === 'postgres' ? 'd.key' : 'd.rowid';
}

export function deviceQueries(c: SqlConn) {
  return {
    ...nameQueries(c, 'devices'),
    get(id: string): Promise<DeviceRow | undefined> {
      return c.get('SELECT * FROM devices WHERE id = ?', [id]);
    },
    /** Names of a few devices (one placeholder per id: meant for a sample, not a fleet); absent ids are left out. */
    async namesOf(ids: readonly string[]): Promise<Map<string, string>> {
      if (ids.length === 0) return new Map();
      const rows = await c.all<{ id: string; name: string }>(`SELECT id, name FROM devices WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
      return new Map(rows.map((r) => [r.id, r.name]));
    },
    async publicKey(id: string): Promise<string | null> {
      return (await c.get<{ public_key: string }>('SELECT public_key FROM devices WHERE id = ?', [id]))?.public_key ?? null;
    },
    /** The device an id retired by a merge now is, with its key. */
    mergedInto(retiredId: string): Promise<{ id: string; public_key: string } | undefined> {
      return c.get('SELECT d.id, d.public_key FROM device_merges m JOIN devices d ON d.id = m.device_id WHERE m.retired_id = ?', [retiredId]);
    },
    /** The device an id (its own, or one retired by a merge) stands for now. */
    current(id: string): Promise<{ id: string; public_key: string } | undefined> {
      return c.get(`SELECT d.id, d.public_key FROM devices d WHERE d.id = ?
        UNION ALL SELECT d.id, d.public_key FROM device_merges m JOIN devices d ON d.id = m.device_id WHERE m.retired_id = ?
        LIMIT 1`, [id, id]);
    },
    /** The first-enrolled device with these hardware facts (duplicates point at it, not at each other). */
    async sameHardware(machineIdHash: string, hardwareUuid: string): Promise<string | null> {
      return (await c.get<{ id: string }>(`SELECT COALESCE(duplicate_of, id) AS id FROM devices WHERE machine_id_hash = ? AND hardware_uuid = ?
        ORDER BY CASE WHEN duplicate_of IS NULL THEN 0 ELSE 1 END, enrolled_at, id LIMIT 1`, [machineIdHash, hardwareUuid]))?.id ?? null;
    },
    async insert(d: NewDevice): Promise<void> {
      await c.run('INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [d.id, d.name, d.machineIdHash, d.hardwareUuid, d.facts, d.publicKey, d.enrolledAt, d.duplicateOf]);
    },
    /** A proven re-enrollment: new facts and key, same id. */
    async reenroll(id: string, d: { name: string; machineIdHash: string; hardwareUuid: string; facts: string; publicKey: string }): Promise<void> {
      await c.run('UPDATE devices SET name = ?, machine_id_hash = ?, hardware_uuid = ?, facts = ?, public_key = ? WHERE id = ?',
        [d.name, d.machineIdHash, d.hardwareUuid, d.facts, d.publicKey, id]);
    },
    /**
     * Stores a status report as the device's latest and in its history, keeping the last `kept`.
     * `enforced`: 'ok', 'failing', or null when the report does not say. `osVersion` undefined (an
     * agent older than that field) keeps the stored one. Says whether a fact rules can name (the
     * agent version, the OS version) differs from the one stored before.
     */
    async recordReport(id: string, at: string, report: string, mode: string, enforced: 'ok' | 'failing' | null, kept: number,
      facts: { agentVersion: string; osVersion?: string }): Promise<boolean> {
      const before = await c.get<{ v: string | null; o: string | null }>('SELECT agent_version AS v, os_version AS o FROM devices WHERE id = ?', [id]);
      await c.run('UPDATE devices SET last_seen_at = ?, last_report = ?, last_mode = ?, last_enforced = ?, agent_version = ?, os_version = COALESCE(?, os_version) WHERE id = ?',
        [at, report, mode, enforced, facts.agentVersion, facts.osVersion ?? null, id]);
      await c.run('INSERT INTO device_reports (device_id, at, report) VALUES (?, ?, ?)', [id, at, report]);
      await c.run(`DELETE FROM device_reports WHERE device_id = ? AND id <= (
        SELECT id FROM device_reports WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, [id, id, kept]);
      return before !== undefined && (before.v !== facts.agentVersion || (facts.osVersion !== undefined && before.o !== facts.osVersion));
    },
    async setDisabled(id: string, disabled: boolean): Promise<void> {
      await c.run('UPDATE devices SET disabled = ? WHERE id = ?', [disabled ? 1 : 0, id]);
    },
    /**
     * Every device, grouped by its current answer and flags (a handful of
     * groups for a whole fleet), each group's keys, ids (and SQLite rowids)
     * as JSON arrays built by the database: a few rows to decode instead of
     * one object of ten fields per device (the driver's per-row work was the
     * largest part of a recompute's load, see bench/README.md).
     * PostgreSQL: the groups are formed by hashing, with sorting switched
     * off for this one statement (set_config local to the transaction, then
     * back to what it was; it must run inside one, as the recompute does).
     * Without fresh statistics (a fleet just loaded or changed, before
     * autovacuum's analyze) the planner guesses one group per device and
     * sorted all 100,000 joined rows by the seven columns: 390-480 ms
     * against 110-220 ms hashed (bench/README.md, fifth pass).
     */
    async allByAnswer(): Promise<DevicesByAnswer[]> {
      if (c.dialect === 'postgres') {
        const { prev } = (await c.get<{ prev: string }>("SELECT current_setting('enable_sort') AS prev, set_config('enable_sort', 'off', true)"))!;
        const rows = await c.all<Omit<DevicesByAnswer, 'keys' | 'ids' | 'rows'> & { keys: string; ids: string }>(
          `SELECT e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, (d.retired_at IS NOT NULL)::int AS retired,
          json_agg(d.key)::text AS keys, json_agg(d.id)::text AS ids
          FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id
          GROUP BY e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, retired`);
        await c.run("SELECT set_config('enable_sort', ?, true)", [prev]);
        return rows.map((r) => ({ ...r, keys: JSON.parse(r.keys), ids: JSON.parse(r.ids), rows: null }));
      }
      const rows = await c.all<Omit<DevicesByAnswer, 'keys' | 'ids' | 'rows'> & { keys: string; ids: string; rows: string }>(
        `SELECT e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, (d.retired_at IS NOT NULL) AS retired,
        json_group_array(d.rowid) AS keys, json_group_array(d.id) AS ids, json_group_array(e.rowid) AS rows
        FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id
        GROUP BY e.status, e.reason, e.product_sku, e.subscription_id, e.group_id, d.disabled, retired`);
      return rows.map((r) => ({ ...r, keys: JSON.parse(r.keys), ids: JSON.parse(r.ids), rows: JSON.parse(r.rows) }));
    },

    // Lifecycle.
    retirement(id: string): Promise<{ name: string; retired_at: string | null; retired_by_name: string | null; retired_reason: string | null } | undefined> {
      return c.get('SELECT name, retired_at, retired_by_name, retired_reason FROM devices WHERE id = ?', [id]);
    },
    async retire(id: string, at: string, by: { id: string; name: string }, reason: 'admin' | 'stale'): Promise<void> {
      await c.run('UPDATE devices SET retired_at = ?, retired_by_id = ?, retired_by_name = ?, retired_reason = ? WHERE id = ?', [at, by.id, by.name, reason, id]);
    },
    async restore(id: string): Promise<void> {
      await c.run('UPDATE devices SET retired_at = NULL, retired_by_id = NULL, retired_by_name = NULL, retired_reason = NULL WHERE id = ?', [id]);
    },
    /** Devices in service not seen (last report, else enrollment) since `before`. */
    async staleIds(before: string): Promise<string[]> {
      return (await c.all<{ id: string }>('SELECT id FROM devices WHERE retired_at IS NULL AND COALESCE(last_seen_at, enrolled_at) < ?', [before])).map((r) => r.id);
    },
    lastSeen(id: string): Promise<{ name: string; seen: string } | undefined> {
      return c.get('SELECT name, COALESCE(last_seen_at, enrolled_at) AS seen FROM devices WHERE id = ?', [id]);
    },
    /** Forgets a device with its memberships, entitlement, reports and merge history; returns the ids merged into it. */
    async delete(id: string): Promise<string[]> {
      await c.run('DELETE FROM group_members WHERE device_id = ?', [id]);
      await c.run('DELETE FROM device_tags WHERE device_id = ?', [id]);
      await c.run('DELETE FROM device_entitlements WHERE device_id = ?', [id]);
      await c.run('DELETE FROM device_reports WHERE device_id = ?', [id]);
      const merged = (await c.all<{ retired_id: string }>('SELECT retired_id FROM device_merges WHERE device_id = ?', [id])).map((r) => r.retired_id);
      await c.run('DELETE FROM device_merges WHERE device_id = ?', [id]);
      await c.run('UPDATE devices SET duplicate_of = NULL WHERE duplicate_of = ?', [id]);
      await c.run('DELETE FROM devices WHERE id = ?', [id]);
      return merged;
    },
    /**
     * Merges device `from` into `into`: `into` takes from's key, facts and (if
     * newer) last report, and from's reports; from's groups and seat go, its
     * id is remembered in device_merges (with ids merged into it before).
     */
    async merge(from: DeviceRow, into: DeviceRow, at: string): Promise<void> {
      const fromNewer = (from.last_seen_at ?? '') > (into.last_seen_at ?? '');
      await c.run(`UPDATE devices SET name = ?, machine_id_hash = ?, hardware_uuid = ?, facts = ?, public_key = ?,
          last_seen_at = ?, last_report = ?, last_mode = ?, last_enforced = ?, agent_version = ?, os_version = ?, duplicate_of = CASE WHEN duplicate_of = ? THEN NULL ELSE duplicate_of END WHERE id = ?`,
      [from.name, from.machine_id_hash, from.hardware_uuid, from.facts, from.public_key,
        ...(fromNewer ? [from.last_seen_at, from.last_report, from.last_mode, from.last_enforced, from.agent_version, from.os_version]
          : [into.last_seen_at, into.last_report, into.last_mode, into.last_enforced, into.agent_version, into.os_version]),
        from.id, into.id]);
      await c.run('UPDATE device_reports SET device_id = ? WHERE device_id = ?', [into.id, from.id]);
      await c.run('DELETE FROM group_members WHERE device_id = ?', [from.id]);
      // Like its groups, the new record's tags go; the old id keeps its own.
      await c.run('DELETE FROM device_tags WHERE device_id = ?', [from.id]);
      await c.run('DELETE FROM device_entitlements WHERE device_id = ?', [from.id]);
      await c.run('UPDATE devices SET duplicate_of = ? WHERE duplicate_of = ? AND id <> ?', [into.id, from.id, into.id]);
      await c.run('UPDATE device_merges SET device_id = ? WHERE device_id = ?', [into.id, from.id]);
      await c.run('INSERT INTO device_merges (retired_id, device_id, merged_at) VALUES (?, ?, ?)', [from.id, into.id, at]);
      await c.run('DELETE FROM devices WHERE id = ?', [from.id]);
    },
  };
}
export type DeviceQueries = ReturnType<typeof deviceQueries>;
