// The audit log as admins read it: filtered (actor, action, target, time) and
// with names beside the raw ids, so "license.unassign grp_3f…" reads as
// "license.unassign Shared laptops". Names come from the current rows, and for
// objects deleted since, from the names the deleting event recorded.
import type { Aggregates } from '../store/store.ts';
import type { AuditEvent, AuditQuery } from '../../shared/schemas/audit.ts';

const ID_PATTERN = /^(dev|grp|sub|adm|enr|asg|ugr|dir)_[A-Za-z0-9]+$/;

/** The current name of an object by its id's prefix. */
function nameLookup(q: Aggregates, id: string): Promise<string | null> {
  switch (id.slice(0, 3)) {
    case 'dev': return q.devices.nameOf(id);
    case 'grp': return q.groups.nameOf(id);
    case 'sub': return q.subscriptions.nameOf(id);
    case 'adm': return q.access.adminName(id);
    case 'ugr': return q.userGroups.ref(id).then((r) => r?.name ?? null);
    case 'dir': return q.directories.byId(id).then((r) => r?.name ?? null);
    default: return Promise.resolve(null);
  }
}

/** Every id-looking string in a details object (values and array items, one level of nesting). */
function idsIn(value: unknown, out: Set<string>, depth = 0): void {
  if (typeof value === 'string') { if (ID_PATTERN.test(value)) out.add(value); return; }
  if (depth > 2 || !value || typeof value !== 'object') return;
  for (const v of Array.isArray(value) ? value : Object.values(value)) idsIn(v, out, depth + 1);
}

/** Names recorded by deleting events: `{id, name}` pairs kept in details.deleted. */
async function recordedNames(q: Aggregates, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const r of await q.audit.deletions(ids)) {
    const name = JSON.parse(r.details)?.name;
    if (typeof name === 'string') out.set(r.target, name);
  }
  return out;
}

export async function listAudit(q: Aggregates, query: AuditQuery): Promise<{ items: AuditEvent[]; total: number }> {
  const filter = {
    actor: query.actor, action: query.action, target: query.target,
    since: query.since ? new Date(query.since).toISOString() : undefined, until: query.until ? new Date(query.until).toISOString() : undefined,
  };
  const total = await q.audit.count(filter);
  const rows = await q.audit.page(filter, query.before, query.limit ?? 100);

  const parsed = rows.map((r) => ({ r, details: JSON.parse(r.details) as Record<string, unknown> }));
  const all = new Set<string>();
  for (const { r, details } of parsed) { idsIn(r.target, all); idsIn(details, all); }
  const names = new Map<string, string>();
  const missing: string[] = [];
  for (const id of all) {
    const name = await nameLookup(q, id);
    if (name !== null) names.set(id, name); else missing.push(id);
  }
  for (const [id, name] of await recordedNames(q, missing)) names.set(id, name);

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
