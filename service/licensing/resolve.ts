// Turns what an admin typed (an id or a unique name) into a row id, with an
// error that says what was not found or which names collide.
import { DevlicError } from '../../shared/errors.ts';
import type { Aggregates } from '../store/store.ts';
import type { NameQueries } from '../store/queries/names.ts';
import { didYouMean, maxEdits, nearNames } from './near-names.ts';

type Kind = 'group' | 'subscription' | 'device' | 'user group';

const AGGREGATE: Record<Kind, 'groups' | 'subscriptions' | 'devices' | 'userGroups'> = { group: 'groups', subscription: 'subscriptions', device: 'devices', 'user group': 'userGroups' };

export async function resolveRef(q: Aggregates, kind: Kind, ref: string): Promise<string> {
  const names: NameQueries = q[AGGREGATE[kind]];
  const byId = await names.idOf(ref);
  if (byId) return byId;
  const byName = await names.idsNamed(ref, 3);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new DevlicError('AMBIGUOUS_NAME', `more than one ${kind} is named '${ref}' (${byName.join(', ')}); use the id`);
  }
  throw new DevlicError('NOT_FOUND', `no ${kind} with id or name '${ref}'${didYouMean(await suggest(names, ref))}`);
}

// Only names of a near length or with the same start can be close, so with
// 100,000 devices the error path still reads a bounded number of rows.
const SUGGEST_SCAN_LIMIT = 5000;

async function suggest(names: NameQueries, ref: string): Promise<string[]> {
  const len = [...ref.trim()].length;
  if (len === 0 || len > 200) return [];
  const k = maxEdits(ref.trim());
  return nearNames(ref, await names.nearNameCandidates(len - k, len + k, ref.trim().slice(0, 3), SUGGEST_SCAN_LIMIT));
}
