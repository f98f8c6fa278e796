// Building blocks used by several message schemas.
import Type from 'typebox';

/** ISO-8601 timestamp string (UTC). */
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40 });

/** Ids are opaque strings: a type prefix and random characters. */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/** Human-chosen names (groups, subscriptions): printable, bounded. */
export const Name = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$' });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});
export type ErrorBody = Type.Static<typeof ErrorBody>;

export const Mode = Type.Union([Type.Literal('full'), Type.Literal('read-only')]);
export type Mode = Type.Static<typeof Mode>;

/** Reason codes carried in entitlements and shown to admins. */
export const EntitlementReason = Type.Union([
  Type.Literal('ASSIGNED'),
  Type.Literal('NOT_IN_LICENSED_GROUP'),
  Type.Literal('SEATS_EXHAUSTED'),
  Type.Literal('SUBSCRIPTION_EXPIRED'),
  Type.Literal('SUBSCRIPTION_SUSPENDED'),
  Type.Literal('DEVICE_DISABLED'),
  /** Retired by an admin or as stale: holds no seat until restored. */
  Type.Literal('DEVICE_RETIRED'),
]);
export type EntitlementReason = Type.Static<typeof EntitlementReason>;
