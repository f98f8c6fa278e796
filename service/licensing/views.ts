// Read models: the admin API's objects built from the database. Seat counts
// come from the usage tables that every recompute writes in the same
// transaction as the entitlements, so what an admin sees is what devices get.
import type { DB } from '../store/db.ts';
import { createHash } from 'node:crypto';
import type {
  Admin, Assignment, DeviceDetail, DeviceFactsView, DeviceListQuery, DeviceView, EnrollToken, Group, Product, Subscription,
} from '../../shared/schemas/admin.ts';
import type { DeviceFacts } from '../../shared/schemas/device.ts';
import { subscriptionState } from './allocate.ts';
import { resolveRef } from './resolve.ts';

type Named = { id: string; name: string };
const iso = (v: string | null) => v;

export function listProducts(db: DB, now: number): Product[] {
  const subs = db.prepare(`SELECT s.id, s.product_sku, s.seats, s.term_end, s.suspended, s.ord, COALESCE(u.seats_used, 0) AS seats_used
    FROM subscriptions s LEFT JOIN subscription_usage u ON u.subscription_id = s.id`).all() as any[];
  return (db.prepare('SELECT sku, name, channel FROM products ORDER BY name').all() as any[]).map((p) => {
    let total = 0, used = 0;
    for (const s of subs) {
      if (s.product_sku !== p.sku) continue;
      const state = subscriptionState({ ...s, termEnd: s.term_end ? Date.parse(s.term_end) : null, suspended: !!s.suspended }, now);
      if (state !== 'active') continue;
      total += s.seats;
      used += s.seats_used;
    }
    return { id: p.sku, sku: p.sku, name: p.name, channel: p.channel, seatsTotal: total, seatsAssigned: used, seatsAvailable: Math.max(0, total - used) };
  });
}

export function listSubscriptions(db: DB, now: number, id?: string): Subscription[] {
  const rows = db.prepare(`SELECT s.*, p.name AS product_name, u.seats_used, u.seats_exhausted FROM subscriptions s
    JOIN products p ON p.sku = s.product_sku LEFT JOIN subscription_usage u ON u.subscription_id = s.id
    ${id ? 'WHERE s.id = ?' : ''} ORDER BY s.ord`).all(...(id ? [id] : [])) as any[];
  const groupsOf = db.prepare('SELECT g.id, g.name FROM assignments a JOIN groups g ON g.id = a.group_id WHERE a.subscription_id = ? ORDER BY g.name');
  return rows.map((s) => {
    return {
      id: s.id, name: s.name, product: s.product_sku, productName: s.product_name, seats: s.seats,
      seatsUsed: s.seats_used ?? 0, seatsExhausted: s.seats_exhausted ?? 0, termEnd: iso(s.term_end),
      status: subscriptionState({ id: s.id, productSku: s.product_sku, seats: s.seats, termEnd: s.term_end ? Date.parse(s.term_end) : null, suspended: !!s.suspended, ord: s.ord }, now),
      groups: groupsOf.all(s.id) as Named[], createdAt: s.created_at,
    };
  });
}

export function listGroups(db: DB, opts: { id?: string; q?: string } = {}): Group[] {
  const where: string[] = [];
  const args: string[] = [];
  if (opts.id) { where.push('g.id = ?'); args.push(opts.id); }
  if (opts.q) { where.push("g.name LIKE ? ESCAPE '\\'"); args.push(`%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`); }
  const rows = db.prepare(`SELECT g.id, g.name, g.created_at,
      (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS device_count,
      s.id AS sub_id, s.name AS sub_name
    FROM groups g LEFT JOIN assignments a ON a.group_id = g.id LEFT JOIN subscriptions s ON s.id = a.subscription_id
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY g.name`).all(...args) as any[];
  const parents = db.prepare('SELECT g.id, g.name FROM group_children c JOIN groups g ON g.id = c.parent_id WHERE c.child_id = ? ORDER BY g.name');
  const children = db.prepare('SELECT g.id, g.name FROM group_children c JOIN groups g ON g.id = c.child_id WHERE c.parent_id = ? ORDER BY g.name');
  return rows.map((g) => ({
    id: g.id, name: g.name, deviceCount: g.device_count,
    parents: parents.all(g.id) as Named[], children: children.all(g.id) as Named[],
    subscription: g.sub_id ? { id: g.sub_id, name: g.sub_name } : null, createdAt: g.created_at,
  }));
}

export function listAssignments(db: DB, id?: string): Assignment[] {
  const rows = db.prepare(`SELECT a.id, a.created_at, s.id AS sub_id, s.name AS sub_name, s.product_sku, g.id AS group_id, g.name AS group_name,
      COALESCE(r.devices_reached, 0) AS devices_reached
    FROM assignments a JOIN subscriptions s ON s.id = a.subscription_id JOIN groups g ON g.id = a.group_id
    LEFT JOIN group_reach r ON r.group_id = a.group_id
    ${id ? 'WHERE a.id = ?' : ''} ORDER BY a.created_at, a.id`).all(...(id ? [id] : [])) as any[];
  return rows.map((r) => ({
    id: r.id, subscription: { id: r.sub_id, name: r.sub_name }, group: { id: r.group_id, name: r.group_name },
    product: r.product_sku, createdAt: r.created_at, devicesReached: r.devices_reached,
  }));
}

const DEVICE_SELECT = `SELECT d.*, e.seq, e.status, e.reason, e.product_sku, e.subscription_id, e.group_id AS lic_group_id,
    s.name AS sub_name, lg.name AS lic_group_name, dup.name AS dup_name
  FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id
  LEFT JOIN subscriptions s ON s.id = e.subscription_id LEFT JOIN groups lg ON lg.id = e.group_id
  LEFT JOIN devices dup ON dup.id = d.duplicate_of`;

const GROUPS_OF_DEVICE = 'SELECT g.id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.device_id = ? ORDER BY g.name';

/** Groups of each listed device: per device for a page, one pass over all memberships for an export. */
function groupsLookup(db: DB, rows: number): (deviceId: string) => Named[] {
  if (rows <= 1000) {
    const q = db.prepare(GROUPS_OF_DEVICE);
    return (id) => q.all(id) as Named[];
  }
  const all = new Map<string, Named[]>();
  for (const m of db.prepare('SELECT m.device_id, g.id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id ORDER BY g.name').all() as any[]) {
    let list = all.get(m.device_id);
    if (!list) all.set(m.device_id, (list = []));
    list.push({ id: m.id, name: m.name });
  }
  return (id) => all.get(id) ?? [];
}

function deviceRow(db: DB, r: any, groupsOf?: (deviceId: string) => Named[]): DeviceView {
  const report = r.last_report ? JSON.parse(r.last_report) : null;
  const groups = groupsOf ? groupsOf(r.id) : db.prepare(GROUPS_OF_DEVICE).all(r.id) as Named[];
  return {
    id: r.id, name: r.name, groups,
    licensed: r.status === 'licensed', reason: r.reason ?? 'NOT_IN_LICENSED_GROUP', product: r.product_sku ?? null,
    subscription: r.subscription_id ? { id: r.subscription_id, name: r.sub_name } : null,
    licenseGroup: r.lic_group_id ? { id: r.lic_group_id, name: r.lic_group_name } : null,
    entitlementSeq: r.seq ?? 0, disabled: !!r.disabled,
    lastMode: report?.mode ?? null, lastReason: report?.reason ?? null, lastSeenAt: r.last_seen_at ?? null,
    users: report?.users ?? [], agentVersion: report?.agentVersion ?? null, cacheExpiresAt: report?.cacheExpiresAt ?? null,
    enrolledAt: r.enrolled_at,
    duplicateOf: r.duplicate_of ? { id: r.duplicate_of, name: r.dup_name ?? r.duplicate_of } : null,
    retired: r.retired_at ? { at: r.retired_at, by: { id: r.retired_by_id, name: r.retired_by_name }, reason: r.retired_reason === 'stale' ? 'stale' : 'admin' } : null,
  };
}

/** A short, stable stand-in for a hardware identifier: equal values stay recognisably equal. */
export function shortHash(value: string): string {
  return `sha256:${createHash('sha256').update(String(value ?? '')).digest('hex').slice(0, 12)}`;
}

/** The facts an admin sees: readers get short hashes of the identifiers a takeover would need. */
export function factsView(facts: DeviceFacts, raw: boolean): DeviceFactsView {
  if (raw) return { ...facts, redacted: false };
  return {
    ...facts, redacted: true,
    machineIdHash: shortHash(facts.machineIdHash), hardwareUuid: shortHash(facts.hardwareUuid), serial: shortHash(facts.serial),
  };
}

// `now` defaults to the wall clock because the route passes only the query; stale is relative to it.
export function listDevices(db: DB, q: DeviceListQuery, now: number = Date.now()): { items: DeviceView[]; total: number } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.licensed === 'true') where.push("e.status = 'licensed'");
  if (q.licensed === 'false') where.push("(e.status IS NULL OR e.status <> 'licensed')");
  if (q.reason) { where.push('e.reason = ?'); args.push(q.reason); }
  if (q.q) { where.push("(d.name LIKE ? ESCAPE '\\' OR d.id = ?)"); args.push(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, q.q); }
  if (q.group) { where.push('d.id IN (SELECT device_id FROM group_members WHERE group_id = ?)'); args.push(resolveRef(db, 'group', q.group)); }
  if (q.subscription) { where.push('e.subscription_id = ?'); args.push(resolveRef(db, 'subscription', q.subscription)); }
  if (q.mode) { where.push("json_extract(d.last_report, '$.mode') = ?"); args.push(q.mode); }
  // Enrolling counts as being seen: a device enrolled a minute ago and not yet reporting is not stale.
  if (q.retired === 'true') where.push('d.retired_at IS NOT NULL');
  if (q.retired === 'false') where.push('d.retired_at IS NULL');
  if (q.staleMinutes) { where.push('COALESCE(d.last_seen_at, d.enrolled_at) < ?'); args.push(new Date(now - q.staleMinutes * 60_000).toISOString()); }
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM devices d LEFT JOIN device_entitlements e ON e.device_id = d.id ${w}`).get(...args) as any).n;
  const rows = db.prepare(`${DEVICE_SELECT} ${w} ORDER BY d.enrolled_at, d.id LIMIT ? OFFSET ?`).all(...args, q.limit ?? 100, q.offset ?? 0) as any[];
  const groupsOf = groupsLookup(db, rows.length);
  return { items: rows.map((r) => deviceRow(db, r, groupsOf)), total };
}

export function getDevice(db: DB, id: string, opts: { rawFacts: boolean }): DeviceDetail {
  const r = db.prepare(`${DEVICE_SELECT} WHERE d.id = ?`).get(id) as any;
  const report = r.last_report ? JSON.parse(r.last_report) : null;
  const reports = (db.prepare('SELECT at, report FROM device_reports WHERE device_id = ? ORDER BY id DESC LIMIT 20').all(id) as any[])
    .map((x) => { const rep = JSON.parse(x.report); return { at: x.at, mode: rep.mode, reason: rep.reason, users: rep.users, agentVersion: rep.agentVersion, lastError: rep.lastError }; });
  return { ...deviceRow(db, r), facts: factsView(JSON.parse(r.facts), opts.rawFacts), lastError: report?.lastError ?? null, reports };
}

const revokedBy = (r: any) => (r.revoked_at ? { id: r.revoked_by_id, name: r.revoked_by_name } : null);

export function enrollTokenStatus(t: { revoked_at: string | null; expires_at: string; uses_left: number }, now: number): EnrollToken['status'] {
  if (t.revoked_at) return 'revoked';
  if (Date.parse(t.expires_at) <= now) return 'expired';
  return t.uses_left <= 0 ? 'used-up' : 'active';
}

export function listEnrollTokens(db: DB, id?: string, now: number = Date.now()): EnrollToken[] {
  return (db.prepare(`SELECT t.*, g.id AS gid, g.name AS gname FROM enroll_tokens t
    LEFT JOIN groups g ON g.id = t.group_id ${id ? 'WHERE t.id = ?' : ''} ORDER BY t.created_at`).all(...(id ? [id] : [])) as any[])
    .map((t) => ({
      id: t.id, expiresAt: t.expires_at, usesLeft: t.uses_left, status: enrollTokenStatus(t, now),
      revokedAt: t.revoked_at ?? null, revokedBy: revokedBy(t),
      group: t.gid ? { id: t.gid, name: t.gname } : null, createdAt: t.created_at,
    }));
}

export function listAdmins(db: DB, id?: string): Admin[] {
  return (db.prepare(`SELECT * FROM admins ${id ? 'WHERE id = ?' : ''} ORDER BY created_at`).all(...(id ? [id] : [])) as any[])
    .map((a) => ({ id: a.id, name: a.name, role: a.role, createdAt: a.created_at, revokedAt: a.revoked_at ?? null, revokedBy: revokedBy(a) }));
}

export { listAudit } from './audit-view.ts';
