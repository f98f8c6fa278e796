// Building blocks used by several message schemas.
import Type from 'typebox';

/** ISO-8601 timestamp string (UTC). */
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40 });

/** Ids are opaque strings: a type prefix and random characters. */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/**
 * Characters that free text from a device may not hold: C0 and C1 control
 * characters and DEL (terminal escapes, log-line forging), line and paragraph
 * separators, bidi embeddings, overrides and isolates (text that displays
 * differently from what it is), and unpaired surrogates (not Unicode at all).
 * The regex is compiled with the `u` flag (TypeBox does), so \ud800-\udfff
 * matches only a surrogate that is not half of a pair.
 */
const NOT_PLAIN = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff';
export const PLAIN_TEXT_PATTERN = `^[^${NOT_PLAIN}]*$`;
/** How a refusal by PLAIN_TEXT_PATTERN is worded to the client. */
export const PLAIN_TEXT_RULE = 'must not contain control characters (U+0000-U+001F, U+007F-U+009F), line separators, bidi controls or unpaired surrogates';
/** Matches every character PLAIN_TEXT_PATTERN refuses (for cleaning text before it is sent). */
export const NOT_PLAIN_TEXT = new RegExp(`[${NOT_PLAIN}]`, 'gu');

/** Free text that a device (or anyone) sends: one rule for every such field, bounded. */
export function PlainText(opts: { minLength?: number; maxLength: number; description?: string }) {
  return Type.String({ ...opts, pattern: PLAIN_TEXT_PATTERN });
}

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
