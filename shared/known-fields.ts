// Keeps only the fields a schema names. Messages from the agent tolerate
// fields this version does not know (a newer agent meets an older service:
// see shared/schemas/device.ts); the service validates the ones it knows and
// drops the rest here, before anything is stored, logged or signed.
// Its own module so the agent, which never needs it, does not load TypeBox's
// value tools.
import type { Static, TSchema } from 'typebox';
import { Clean } from 'typebox/value';

/** The value with every property the schema does not name removed, at any depth; the value must already be valid. */
export function knownFields<T extends TSchema>(schema: T, value: Static<T>): Static<T> {
  return Clean(schema, structuredClone(value)) as Static<T>;
}
