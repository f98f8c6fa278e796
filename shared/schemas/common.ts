// Building blocks used by several message schemas.
import Type from 'typebox';
import { REASON_CODE_PATTERN, SERVICE_REASON_CODES, type ServiceReason, type WireReason } from '../reasons.ts';

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

/** Reason codes the service gives (shared/reasons.ts): strict, for what the service itself writes and filters by. */
export const EntitlementReason = Type.Unsafe<ServiceReason>(Type.Union(SERVICE_REASON_CODES.map((c) => Type.Literal(c))));
export type EntitlementReason = Type.Static<typeof EntitlementReason>;

/**
 * A reason code as received (token claims, status reports): any well-formed
 * code, typed as the known ones plus "unknown". An older receiver must not
 * refuse a token or report because a newer sender uses a code it does not
 * know (docs/design.md, "Contracts").
 */
export function ReasonCode<K extends string>(base = Type.String({ maxLength: 64, pattern: REASON_CODE_PATTERN })) {
  return Type.Unsafe<WireReason<K>>(base);
}
