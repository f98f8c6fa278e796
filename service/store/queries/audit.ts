// The audit log: one row per change, written in the change's transaction.
import type { SqlConn, SqlValue } from '../sql.ts';

export interface AuditRow { id: number; at: string; actor_id: string; actor_name: string; action: string; target: string; details: string }
export interface AuditFilter { actor?: string; action?: string; target?: string; since?: string; until?: string }

function where(f: AuditFilter): { clauses: string[]; args: SqlValue[] } {
  const clauses: string[] = [];
  const args: SqlValue[] = [];
  if (f.actor) { clauses.push('(actor_id = ? OR actor_name = ?)'); args.push(f.actor, f.actor); }
  if (f.action) {
    // 'device.' means every action of that kind.
    if (f.action.endsWith('.')) { clauses.push("action LIKE ? ESCAPE '\\'"); args.push(`${f.action.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`); }
    else { clauses.push('action = ?'); args.push(f.action); }
  }
  if (f.target) { clauses.push('target = ?'); args.push(f.target); }
  if (f.since) { clauses.push('at >= ?'); args.push(f.since); }
  if (f.until) { clauses.push('at < ?'); args.push(f.until); }
  return { clauses, args };
}

export function auditQueries(c: SqlConn) {
  return {
    async insert(e: { at: string; actorId: string; actorName: string; action: string; target: string; details: unknown }): Promise<void> {
      await c.run('INSERT INTO audit (at, actor_id, actor_name, action, target, details) VALUES (?, ?, ?, ?, ?, ?)',
        [e.at, e.actorId, e.actorName, e.action, e.target, JSON.stringify(e.details ?? {})]);
    },
    async count(f: AuditFilter): Promise<number> {
      const { clauses, args } = where(f);
      return (await c.get<{ n: number }>(`SELECT COUNT(*) AS n FROM audit ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}`, args))!.n;
    },
    /** Newest first; `before` pages by id. */
    page(f: AuditFilter, before: number | undefined, limit: number): Promise<AuditRow[]> {
      const { clauses, args } = where(f);
      if (before !== undefined) { clauses.push('id < ?'); args.push(before); }
      return c.all(`SELECT * FROM audit ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, [...args, limit]);
    },
    /** Events that deleted these targets (their details record the name). */
    deletions(targets: readonly string[]): Promise<{ target: string; details: string }[]> {
      if (targets.length === 0) return Promise.resolve([]);
      return c.all(`SELECT target, details FROM audit WHERE action IN ('device.delete', 'group.delete', 'user-group.delete', 'directory.remove') AND target IN (${targets.map(() => '?').join(',')})`, targets);
    },
  };
}
export type AuditQueries = ReturnType<typeof auditQueries>;
