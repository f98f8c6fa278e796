// The device list's keyset cursor: the (enrolled_at, id) of a page's last
// device, which the next page starts after, and the walk's total as counted
// on its first page (with when), so later pages need not count again.
// Opaque to clients (base64url of a JSON array) so its parts can change
// without an API change; a cursor this service could not have made is
// refused with BAD_REQUEST. The total is tied to the filter it counted (a
// short hash of it): a cursor passed with another filter counts again, as
// does a cursor of the older two-part form (no total).
import { createHash } from 'node:crypto';
import { DevlicError } from '../../shared/errors.ts';

export interface DeviceCursor {
  enrolledAt: string; id: string;
  /** The filter's total when the walk began, when it was counted (ISO) and which filter (filterKey); absent: count again. */
  total?: { n: number; at: string; filter: string };
}

const MAX_PART = 256;

export function encodeDeviceCursor(c: DeviceCursor): string {
  const parts: (string | number)[] = c.total ? [c.enrolledAt, c.id, c.total.n, c.total.at, c.total.filter] : [c.enrolledAt, c.id];
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

const isPart = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= MAX_PART;

export function decodeDeviceCursor(s: string): DeviceCursor {
  const bad = () => new DevlicError('BAD_REQUEST', 'after: not a device list cursor (pass the `next` of the previous page as it was given)');
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || (v.length !== 2 && v.length !== 5) || !isPart(v[0]) || !isPart(v[1])) throw bad();
  if (v.length === 2) return { enrolledAt: v[0], id: v[1] };
  const [, , n, at, filter] = v;
  if (!Number.isSafeInteger(n) || n < 0 || !isPart(at) || Number.isNaN(Date.parse(at)) || !isPart(filter)) throw bad();
  return { enrolledAt: v[0], id: v[1], total: { n, at, filter } };
}

/** A short key of a device list query's filter (its parameters as sorted JSON, hashed): the same filter gives the same key. */
export function filterKey(filter: Record<string, unknown>): string {
  const sorted = Object.entries(filter).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url').slice(0, 12);
}
