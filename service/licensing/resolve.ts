// Turns what an admin typed (an id or a unique name) into a row id, with an
// error that says what was not found or which names collide.
import { DevlicError } from '../../shared/errors.ts';
import type { DB } from '../store/db.ts';

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
  throw new DevlicError('NOT_FOUND', `no ${kind} with id or name '${ref}'`);
}
