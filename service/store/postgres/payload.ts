// The change fan-out's wire format: pg_notify payloads `{"origin":…,"ids":[…]}`
// (or `"ids":"all"`), plus `"kind"` for a kind other than 'entitlement', each kept well under PostgreSQL's 8000-byte payload
// limit by splitting a long id list over several notifications. Pure.
import { CHANGE_KINDS, type ChangeKind, type Changed } from '../sql.ts';

/** Past this many ids an announcement says 'all' (other replicas re-read instead of matching ids). */
export const MAX_NAMED_IDS = 10_000;

/** PostgreSQL refuses payloads of 8000 bytes or more; stay well under. */
export const MAX_PAYLOAD_BYTES = 4000;

export interface ChangePayload {
  origin: string;
  ids: Changed;
  kind: ChangeKind;
}

/**
 * The notifications announcing ids (deduplicated, order kept), each at most
 * maxBytes of UTF-8. An id that cannot fit in a payload of its own turns the
 * whole announcement into one 'all'.
 */
export function encodeChanges(origin: string, ids: readonly string[], maxBytes = MAX_PAYLOAD_BYTES, kind: ChangeKind = 'entitlement'): string[] {
  if (ids.length === 0) return [];
  // A change this large wakes nearly everyone anyway: one 'all' instead of
  // hundreds of notifications encoded inside the admin's transaction.
  if (ids.length > MAX_NAMED_IDS) return [JSON.stringify(kind === 'entitlement' ? { origin, ids: 'all' } : { origin, kind, ids: 'all' })];
  const unique = [...new Set(ids)];
  const k = kind === 'entitlement' ? '' : `"kind":${JSON.stringify(kind)},`;
  const head = `{"origin":${JSON.stringify(origin)},${k}"ids":[`;
  const tail = ']}';
  const all = JSON.stringify(kind === 'entitlement' ? { origin, ids: 'all' } : { origin, kind, ids: 'all' });
  const fixed = Buffer.byteLength(head) + Buffer.byteLength(tail);
  if (Buffer.byteLength(all) > maxBytes) throw new Error(`a change payload cannot fit in ${maxBytes} bytes (origin too long)`);
  const out: string[] = [];
  let parts: string[] = [];
  let size = fixed;
  for (const id of unique) {
    const enc = JSON.stringify(id);
    const len = Buffer.byteLength(enc);
    if (fixed + len > maxBytes) return [all];
    const sep = parts.length ? 1 : 0;
    if (size + sep + len > maxBytes) {
      out.push(head + parts.join(',') + tail);
      parts = [];
      size = fixed;
    }
    size += (parts.length ? 1 : 0) + len;
    parts.push(enc);
  }
  out.push(head + parts.join(',') + tail);
  return out;
}

/** Parses a notification payload; undefined for one that is not ours (logged by the caller). */
export function decodeChanges(payload: string): ChangePayload | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const { origin, ids, kind = 'entitlement' } = v as Record<string, unknown>;
  if (typeof origin !== 'string') return undefined;
  if (!CHANGE_KINDS.includes(kind as ChangeKind)) return undefined;
  if (ids === 'all') return { origin, ids, kind: kind as ChangeKind };
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) return undefined;
  return { origin, ids, kind: kind as ChangeKind };
}
