// Turns what an admin typed (an id or a unique name) into a row id, with an
// error that says what was not found or which names collide.
import { DevlicError } from '../../shared/errors.ts';
import type { DB } from '../store/db.ts';
import { didYouMean, maxEdits, nearNames } from './near-names.ts';

type Kind = 'group' | 'subscription' | 'device';

const QUERIES: Record<Kind, { table: string; nameCol: string }> = {
  group: { table: 'groups', nameCol: 'name' },
  subscription: { table: 'subscriptions', nameCol: 'name' },
  device: { table: 'devices', nameCol: 'name' },
};

export function resolveRef(db: DB, kind: Kind, ref: string): string {
  const { table, nameCol } = QUERIES[kind];
  const byId = db.prepare(`SELECT id FROM ${table} WHERE id = ?`).get(ref) as { id: string } | undefined;
  if (byId) return byId.id;
  const byName = db.prepare(`SELECT id FROM ${table} WHERE ${nameCol} = ? COLLATE NOCASE LIMIT 3`).all(ref) as { id: string }[];
  if (byName.length === 1) return byName[0].id;
  if (byName.length > 1) {
    throw new DevlicError('AMBIGUOUS_NAME', `more than one ${kind} is named '${ref}' (${byName.map((r) => r.id).join(', ')}); use the id`);
  }
  throw new DevlicError('NOT_FOUND', `no ${kind} with id or name '${ref}'${didYouMean(suggest(db, table, nameCol, ref))}`);
}

// Only names of a near length or with the same start can be close, so with
// 100,000 devices the error path still reads a bounded number of rows.
const SUGGEST_SCAN_LIMIT = 5000;

function suggest(db: DB, table: string, nameCol: string, ref: string): string[] {
  const len = [...ref.trim()].length;
  if (len === 0 || len > 200) return [];
  const k = maxEdits(ref.trim());
  const rows = db.prepare(`SELECT ${nameCol} AS name FROM ${table}
    WHERE ${nameCol} IS NOT NULL AND (length(${nameCol}) BETWEEN ? AND ? OR substr(${nameCol}, 1, 3) = ? COLLATE NOCASE) LIMIT ?`)
    .all(len - k, len + k, ref.trim().slice(0, 3), SUGGEST_SCAN_LIMIT) as { name: string }[];
  return nearNames(ref, rows.map((r) => r.name));
}
