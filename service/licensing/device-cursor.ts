// The device list's keyset cursor: the (enrolled_at, id) of a page's last
// device, which the next page starts after. Opaque to clients (base64url of a
// JSON pair) so the order's columns can change without an API change; a
// cursor this service could not have made is refused with BAD_REQUEST.
import { DevlicError } from '../../shared/errors.ts';

export interface DeviceCursor { enrolledAt: string; id: string }

const MAX_PART = 256;

export function encodeDeviceCursor(c: DeviceCursor): string {
  return Buffer.from(JSON.stringify([c.enrolledAt, c.id]), 'utf8').toString('base64url');
}

export function decodeDeviceCursor(s: string): DeviceCursor {
  const bad = () => new DevlicError('BAD_REQUEST', 'after: not a device list cursor (pass the `next` of the previous page as it was given)');
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= MAX_PART)) throw bad();
  return { enrolledAt: v[0], id: v[1] };
}
