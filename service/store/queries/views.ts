// The admin API's read models as rows: lists of subscriptions, groups,
// licences, devices (filtered, paged), enrollment tokens, admins, and the
// counts behind /metrics. licensing/views.ts turns them into API objects.
import type { SqlConn, SqlValue } from '../sql.ts';

type Named = { id: string; name: string };

/** A device list's filters, already resolved to ids. */
export interface DeviceFilter {
  licensed?: boolean; reason?: string; q?: string; groupId?: string; subscriptionId?: string;
  mode?: string; retired?: boolean; seenBefore?: string;
  /** 'ok', 'failing', or null: devices whose last report did not say. */
  enforced?: 'ok' | 'failing' | null;
}

const DEVICE_SELECT = `SELECT d.*, e.seq, e.status, e.reason, e.product_sku, e.subscription_id, e.group_id AS lic_group_id,
    s.name AS sub_name, lg.name AS lic_group_name, dup.name AS dup_name
  FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id
  LEFT JOIN subscriptions s ON s.id = e.subscription_id LEFT JOIN groups lg ON lg.id = e.group_id
  LEFT JOIN devices dup ON dup.id = d.duplicate_of`;

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/**
 * A device filter as SQL: conditions on the device row (d) and on its
 * entitlement row (e) apart, so the count can skip the join when e is not
 * asked about (see deviceCount).
 */
function deviceWhere(f: DeviceFilter): { dev: string[]; devArgs: SqlValue[]; ent: string[]; entArgs: SqlValue[] } {
  const dev: string[] = [];
  const devArgs: SqlValue[] = [];
  const ent: string[] = [];
  const entArgs: SqlValue[] = [];
  if (f.licensed === true) ent.push("e.status = 'licensed'");
  if (f.reason) { ent.push('e.reason = ?'); entArgs.push(f.reason); }
  if (f.subscriptionId) { ent.push('e.subscription_id = ?'); entArgs.push(f.subscriptionId); }
  if (f.q) { dev.push("(lower(d.name) LIKE lower(?) ESCAPE '\\' OR d.id = ?)"); devArgs.push(`%${likeEscape(f.q)}%`, f.q); }
  if (f.groupId) { dev.push('d.id IN (SELECT device_id FROM group_members WHERE group_id = ?)'); devArgs.push(f.groupId); }
  if (f.mode) { dev.push('d.last_mode = ?'); devArgs.push(f.mode); }
  if (f.enforced === null) dev.push('d.last_enforced IS NULL');
  else if (f.enforced) { dev.push('d.last_enforced = ?'); devArgs.push(f.enforced); }
  if (f.retired === true) dev.push('d.retired_at IS NOT NULL');
  if (f.retired === false) dev.push('d.retired_at IS NULL');
  // Enrolling counts as being seen: a device enrolled a minute ago and not yet reporting is not stale.
  if (f.seenBefore) { dev.push('COALESCE(d.last_seen_at, d.enrolled_at) < ?'); devArgs.push(f.seenBefore); }
  return { dev, devArgs, ent, entArgs };
}

const whereOf = (conds: string[]) => (conds.length ? `WHERE ${conds.join(' AND ')}` : '');

/** The list's WHERE over DEVICE_SELECT's join (a device without an entitlement row counts as unlicensed). */
function listWhere(f: DeviceFilter): { w: string; args: SqlValue[] } {
  const { dev, devArgs, ent, entArgs } = deviceWhere(f);
  const unlicensed = f.licensed === false ? ["(e.status IS NULL OR e.status <> 'licensed')"] : [];
  return { w: whereOf([...unlicensed, ...ent, ...dev]), args: [...entArgs, ...devArgs] };
}

/**
 * The exact count of a device filter without joining every device to its
 * entitlement: every entitlement row belongs to a device (a foreign key), so
 * conditions on e count entitlement rows (joined to devices only when the
 * device is asked about too), and "unlicensed" is all devices minus the
 * licensed ones. At 100,000 devices the join took 35 ms (SQLite) / 200 ms
 * (PostgreSQL). Conditions on status and reason alone read entitlement_counts
 * (kept by triggers; there is no index on status: see migration 8).
 */
function countSql(f: DeviceFilter): { sql: string; args: SqlValue[] } {
  const { dev, devArgs, ent, entArgs } = deviceWhere(f);
  // Only status and reason asked about: the per-(status, reason) counts the triggers keep (a few rows, no scan).
  if (dev.length === 0 && !f.subscriptionId && (f.licensed !== undefined || f.reason)) {
    const conds: string[] = [];
    const args: SqlValue[] = [];
    if (f.licensed === true) conds.push("status = 'licensed'");
    if (f.licensed === false && f.reason) conds.push("status <> 'licensed'");
    if (f.reason) { conds.push('reason = ?'); args.push(f.reason); }
    const counted = `SELECT COALESCE(SUM(n), 0) FROM entitlement_counts ${whereOf(conds)}`;
    // Unlicensed without a reason: devices without an entitlement row count too, so all devices minus the licensed ones.
    if (f.licensed === false && !f.reason) {
      return { sql: "SELECT (SELECT COUNT(*) FROM devices) - (SELECT COALESCE(SUM(n), 0) FROM entitlement_counts WHERE status = 'licensed') AS n", args: [] };
    }
    return { sql: `SELECT (${counted}) AS n`, args };
  }
  const entCount = (conds: string[]) => (dev.length
    ? `SELECT COUNT(*) FROM device_entitlements e JOIN devices d ON d.id = e.device_id ${whereOf([...conds, ...dev])}`
    : `SELECT COUNT(*) FROM device_entitlements e ${whereOf(conds)}`);
  if (f.licensed === false && ent.length === 0) {
    return { sql: `SELECT (SELECT COUNT(*) FROM devices d ${whereOf(dev)}) - (${entCount(["e.status = 'licensed'"])}) AS n`, args: [...devArgs, ...devArgs] };
  }
  if (f.licensed === false) return { sql: `SELECT (${entCount(["e.status <> 'licensed'", ...ent])}) AS n`, args: [...entArgs, ...devArgs] };
  if (ent.length > 0) return { sql: `SELECT (${entCount(ent)}) AS n`, args: [...entArgs, ...devArgs] };
  return { sql: `SELECT COUNT(*) AS n FROM devices d ${whereOf(dev)}`, args: devArgs };
}

export function viewQueries(c: SqlConn) {
  return {
    subscriptionsWithUsage(): Promise<any[]> {
      return c.all(`SELECT s.id, s.product_sku, s.seats, s.term_end, s.suspended, s.ord, COALESCE(u.seats_used, 0) AS seats_used
        FROM subscriptions s LEFT JOIN subscription_usage u ON u.subscription_id = s.id`);
    },
    subscriptions(id?: string): Promise<any[]> {
      return c.all(`SELECT s.*, p.name AS product_name, u.seats_used, u.seats_exhausted FROM subscriptions s
        JOIN products p ON p.sku = s.product_sku LEFT JOIN subscription_usage u ON u.subscription_id = s.id
        ${id ? 'WHERE s.id = ?' : ''} ORDER BY s.ord`, id ? [id] : []);
    },
    groupsOfSubscription(subscriptionId: string): Promise<Named[]> {
      return c.all('SELECT g.id, g.name FROM assignments a JOIN groups g ON g.id = a.group_id WHERE a.subscription_id = ? ORDER BY g.name', [subscriptionId]);
    },
    groups(opts: { id?: string; q?: string }): Promise<any[]> {
      const where: string[] = [];
      const args: SqlValue[] = [];
      if (opts.id) { where.push('g.id = ?'); args.push(opts.id); }
      if (opts.q) { where.push("lower(g.name) LIKE lower(?) ESCAPE '\\'"); args.push(`%${likeEscape(opts.q)}%`); }
      return c.all(`SELECT g.id, g.name, g.created_at, g.rule, g.directory_id, g.directory_dn, dir.name AS directory_name,
          (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS device_count,
          s.id AS sub_id, s.name AS sub_name
        FROM groups g LEFT JOIN assignments a ON a.group_id = g.id LEFT JOIN subscriptions s ON s.id = a.subscription_id
        LEFT JOIN directories dir ON dir.id = g.directory_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY g.name`, args);
    },
    parentsOf(groupId: string): Promise<Named[]> {
      return c.all('SELECT g.id, g.name FROM group_children c JOIN groups g ON g.id = c.parent_id WHERE c.child_id = ? ORDER BY g.name', [groupId]);
    },
    childrenOf(groupId: string): Promise<Named[]> {
      return c.all('SELECT g.id, g.name FROM group_children c JOIN groups g ON g.id = c.child_id WHERE c.parent_id = ? ORDER BY g.name', [groupId]);
    },
    assignments(id?: string): Promise<any[]> {
      return c.all(`SELECT a.id, a.created_at, s.id AS sub_id, s.name AS sub_name, s.product_sku, g.id AS group_id, g.name AS group_name,
          COALESCE(r.devices_reached, 0) AS devices_reached
        FROM assignments a JOIN subscriptions s ON s.id = a.subscription_id JOIN groups g ON g.id = a.group_id
        LEFT JOIN group_reach r ON r.group_id = a.group_id
        ${id ? 'WHERE a.id = ?' : ''} ORDER BY a.created_at, a.id`, id ? [id] : []);
    },
    async deviceCount(f: DeviceFilter): Promise<number> {
      const { sql, args } = countSql(f);
      return (await c.get<{ n: number }>(sql, args))!.n;
    },
    /**
     * A page in enrolment order: after a keyset cursor (the previous page's
     * last (enrolled_at, id): the index walk starts there, so any page costs
     * what the first does) or, for compatibility, after skipping `offset` rows.
     */
    devices(f: DeviceFilter, limit: number, from: { offset: number } | { after: { enrolledAt: string; id: string } }): Promise<any[]> {
      const { w, args } = listWhere(f);
      const keyset = 'after' in from;
      const where = keyset ? `${w ? `${w} AND` : 'WHERE'} (d.enrolled_at, d.id) > (?, ?)` : w;
      const pageArgs = keyset ? [...args, from.after.enrolledAt, from.after.id, limit] : [...args, limit, from.offset];
      // The page's ids first (walking devices_enrolled, without reading whole device rows), then their rows.
      return c.all(`${DEVICE_SELECT} WHERE d.id IN (SELECT d.id FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id ${where}
        ORDER BY d.enrolled_at, d.id LIMIT ?${keyset ? '' : ' OFFSET ?'}) ORDER BY d.enrolled_at, d.id`, pageArgs);
    },
    device(id: string): Promise<any | undefined> {
      return c.get(`${DEVICE_SELECT} WHERE d.id = ?`, [id]);
    },
    groupsOfDevice(deviceId: string): Promise<Named[]> {
      return c.all('SELECT g.id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.device_id = ? ORDER BY g.name', [deviceId]);
    },
    /** The groups of a page of devices (at most 1,000 ids) in one query, not one per device: a round trip each on PostgreSQL. */
    groupsOfDevices(deviceIds: readonly string[]): Promise<{ device_id: string; id: string; name: string }[]> {
      if (deviceIds.length === 0) return Promise.resolve([]);
      return c.all(`SELECT m.device_id, g.id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id
        WHERE m.device_id IN (${deviceIds.map(() => '?').join(', ')}) ORDER BY g.name`, deviceIds);
    },
    /** Every membership with its group's name: one pass for an export instead of a query per device. */
    allMemberships(): Promise<{ device_id: string; id: string; name: string }[]> {
      return c.all('SELECT m.device_id, g.id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id ORDER BY g.name');
    },
    reports(deviceId: string, limit: number): Promise<{ at: string; report: string }[]> {
      return c.all('SELECT at, report FROM device_reports WHERE device_id = ? ORDER BY id DESC LIMIT ?', [deviceId, limit]);
    },
    enrollTokens(id?: string): Promise<any[]> {
      return c.all(`SELECT t.*, g.id AS gid, g.name AS gname FROM enroll_tokens t
        LEFT JOIN groups g ON g.id = t.group_id ${id ? 'WHERE t.id = ?' : ''} ORDER BY t.created_at`, id ? [id] : []);
    },
    admins(id?: string): Promise<any[]> {
      return c.all(`SELECT * FROM admins ${id ? 'WHERE id = ?' : ''} ORDER BY created_at`, id ? [id] : []);
    },
    /** Devices by licence status, reason and last reported mode (/metrics). */
    devicesByState(): Promise<{ status: string; reason: string; mode: string; n: number }[]> {
      return c.all(`SELECT COALESCE(e.status, 'unlicensed') AS status, COALESCE(e.reason, 'NOT_IN_LICENSED_GROUP') AS reason,
          CASE WHEN d.last_mode IN ('full', 'read-only') THEN d.last_mode ELSE 'unknown' END AS mode,
          COUNT(*) AS n
        FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id GROUP BY 1, 2, 3`);
    },
    /** Devices by whether their last report said every enforcer holds the mode (null: an agent too old to say). */
    devicesByEnforcement(): Promise<{ state: string; n: number }[]> {
      return c.all(`SELECT COALESCE(last_enforced, 'unknown') AS state, COUNT(*) AS n FROM devices GROUP BY 1`);
    },
  };
}
export type ViewQueries = ReturnType<typeof viewQueries>;
