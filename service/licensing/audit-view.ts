// The audit log as admins read it: filtered (actor, action, target, time) and
// with names beside the raw ids, so "license.unassign grp_3f…" reads as
// "license.unassign Shared laptops". Names come from the current rows, and for
// objects deleted since, from the names the deleting event recorded.
import type { DB } from '../store/db.ts';
import type { AuditEvent, AuditQuery } from '../../shared/schemas/admin.ts';

const ID_PATTERN = /^(dev|grp|sub|adm|enr|asg)_[A-Za-z0-9]+$/;

const LOOKUP: Record<string, string> = {
  dev: 'SELECT name FROM devices WHERE id = ?',
  grp: 'SELECT name FROM groups WHERE id = ?',
  sub: 'SELECT name FROM subscriptions WHERE id = ?',
  adm: 'SELECT name FROM admins WHERE id = ?',
};

/** Every id-looking string in a details object (values and array items, one level of nesting). */
function idsIn(value: unknown, out: Set<string>, depth = 0): void {
  if (typeof value === 'string') { if (ID_PATTERN.test(value)) out.add(value); return; }
  if (depth > 2 || !value || typeof value !== 'object') return;
  for (const v of Array.isArray(value) ? value : Object.values(value)) idsIn(v, out, depth + 1);
}

/** Names recorded by deleting events: `{id, name}` pairs kept in details.deleted. */
function recordedNames(db: DB, ids: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = db.prepare(`SELECT target, details FROM audit WHERE action IN ('device.delete', 'group.delete') AND target IN (${ids.map(() => '?').join(',')})`).all(...ids) as any[];
  for (const r of rows) {
    const name = JSON.parse(r.details)?.name;
    if (typeof name === 'string') out.set(r.target, name);
  }
  return out;
}

export function listAudit(db: DB, q: AuditQuery): { items: AuditEvent[]; total: number } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.actor) { where.push('(actor_id = ? OR actor_name = ?)'); args.push(q.actor, q.actor); }
  if (q.action) {
    if (q.action.endsWith('.')) { where.push("action LIKE ? ESCAPE '\\'"); args.push(`${q.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`); }
    else { where.push('action = ?'); args.push(q.action); }
  }
  if (q.target) { where.push('target = ?'); args.push(q.target); }
  if (q.since) { where.push('at >= ?'); args.push(new Date(q.since).toISOString()); }
  if (q.until) { where.push('at < ?'); args.push(new Date(q.until).toISOString()); }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM audit ${filter}`).get(...args) as any).n;
  const page = q.before ? [...where, 'id < ?'] : where;
  const rows = db.prepare(`SELECT * FROM audit ${page.length ? `WHERE ${page.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
    .all(...args, ...(q.before ? [q.before] : []), q.limit ?? 100) as any[];

  const parsed = rows.map((r) => ({ r, details: JSON.parse(r.details) as Record<string, unknown> }));
  const all = new Set<string>();
  for (const { r, details } of parsed) { idsIn(r.target, all); idsIn(details, all); }
  const names = new Map<string, string>();
  const missing: string[] = [];
  for (const id of all) {
    const sql = LOOKUP[id.slice(0, 3)];
    const row = sql ? db.prepare(sql).get(id) as { name: string } | undefined : undefined;
    if (row) names.set(id, row.name); else missing.push(id);
  }
  for (const [id, name] of recordedNames(db, missing)) names.set(id, name);

  return {
    total,
    items: parsed.map(({ r, details }) => {
      const own = new Set<string>();
      idsIn(r.target, own);
      idsIn(details, own);
      const eventNames: Record<string, string> = {};
      for (const id of own) { const n = names.get(id); if (n !== undefined) eventNames[id] = n; }
      return {
        id: r.id, at: r.at, actor: { id: r.actor_id, name: r.actor_name }, action: r.action, target: r.target,
        targetName: names.get(r.target) ?? null, details, names: eventNames,
      };
    }),
  };
}
