// The audit log in the admin API: one event per admin change, and the query
// that filters and pages it.
import Type from 'typebox';
import { Id, Timestamp } from './common.ts';

export const AuditEvent = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actor: Type.Object({ id: Id, name: Type.String() }),
  action: Type.String(),
  target: Type.String(),
  /** The target's name (current, else as recorded), null when it has none. */
  targetName: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  /** Names of the ids in `details` that name objects (subscription, group, device, admin ids), for a readable before/after. */
  names: Type.Record(Type.String(), Type.String()),
});
export type AuditEvent = Type.Static<typeof AuditEvent>;

export const AuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  before: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Actor id (or exact actor name). */
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Exact action (e.g. device.retire) or a prefix ending in '.' (e.g. device.). */
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** Target id. */
  target: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Events at or after / before this time. */
  since: Type.Optional(Timestamp),
  until: Type.Optional(Timestamp),
}, { additionalProperties: false });
export type AuditQuery = Type.Static<typeof AuditQuery>;
