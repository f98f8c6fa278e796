// Lookups by id or name shared by the named aggregates (groups,
// subscriptions, devices): what resolveRef needs to turn what an admin typed
// into an id. Names compare case-insensitively as lower(x) = lower(?).
import type { SqlConn } from '../sql.ts';

export type NamedTable = 'groups' | 'subscriptions' | 'devices' | 'user_groups';

export interface NameQueries {
  /** The id itself when a row has it. */
  idOf(id: string): Promise<string | null>;
  /** Up to `limit` ids of rows with this name (case-insensitive). */
  idsNamed(name: string, limit: number): Promise<string[]>;
  /** Names that might be near `ref`: of a length in [min, max], or starting with `prefix`. */
  nearNameCandidates(min: number, max: number, prefix: string, limit: number): Promise<string[]>;
  /** The row's name, or null. */
  nameOf(id: string): Promise<string | null>;
}

export function nameQueries(c: SqlConn, table: NamedTable): NameQueries {
  return {
    async idOf(id) {
      return (await c.get<{ id: string }>(`SELECT id FROM ${table} WHERE id = ?`, [id]))?.id ?? null;
    },
    async idsNamed(name, limit) {
      return (await c.all<{ id: string }>(`SELECT id FROM ${table} WHERE lower(name) = lower(?) LIMIT ?`, [name, limit])).map((r) => r.id);
    },
    async nearNameCandidates(min, max, prefix, limit) {
      return (await c.all<{ name: string }>(`SELECT name FROM ${table}
        WHERE name IS NOT NULL AND (length(name) BETWEEN ? AND ? OR lower(substr(name, 1, 3)) = lower(?)) LIMIT ?`, [min, max, prefix, limit]))
        .map((r) => r.name);
    },
    async nameOf(id) {
      return (await c.get<{ name: string }>(`SELECT name FROM ${table} WHERE id = ?`, [id]))?.name ?? null;
    },
  };
}
