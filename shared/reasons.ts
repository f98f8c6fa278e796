// The one catalogue of reason codes: why a device is licensed or not (codes
// the service signs into entitlement tokens) and why the agent put it in a
// mode (codes only the agent decides). Everything else derives from it: the
// TypeBox unions (schemas/common.ts, schemas/device.ts), the agent's
// DecisionReason, the console's labels (served as a generated module by
// service/http/console-routes.ts) and the table in docs/reasons.md (checked
// by test/shared/reasons.unit.test.ts).
//
// Compatibility (docs/design.md, "Contracts"): codes are open-ended on the
// wire. A receiver that meets a code it does not know keeps it as-is and
// shows it with UNKNOWN_REASON; it never refuses the token or report because
// of it. The mode always comes from the token's `status`, never from the code.

export interface ReasonEntry {
  code: string;
  /** Who decides it: the service (signed into tokens) or the agent (local decisions). */
  source: 'service' | 'agent';
  /** The mode a device gets with this reason (ASSIGNED: full unless the agent's own checks say otherwise). */
  mode: 'full' | 'read-only';
  /** Short label for people (console, docs). */
  label: string;
  /** One sentence: what it means and what to do. */
  help: string;
}

export const REASONS = [
  { code: 'ASSIGNED', source: 'service', mode: 'full', label: 'Licensed',
    help: 'The device holds a seat of a subscription through a licensed group.' },
  { code: 'NOT_IN_LICENSED_GROUP', source: 'service', mode: 'read-only', label: 'Not in a licensed group',
    help: 'No group the device belongs to is assigned a subscription: add it to one.' },
  { code: 'SEATS_EXHAUSTED', source: 'service', mode: 'read-only', label: 'No seat left',
    help: 'Its group has a subscription, but every seat is taken: add seats or free one.' },
  { code: 'SUBSCRIPTION_EXPIRED', source: 'service', mode: 'read-only', label: 'Subscription expired',
    help: 'The only subscription that could seat it has ended: renew it.' },
  { code: 'SUBSCRIPTION_SUSPENDED', source: 'service', mode: 'read-only', label: 'Subscription suspended',
    help: 'The only subscription that could seat it is suspended by an admin.' },
  { code: 'DEVICE_DISABLED', source: 'service', mode: 'read-only', label: 'Device disabled',
    help: 'An admin disabled the device: it keeps its place but holds no seat.' },
  { code: 'DEVICE_RETIRED', source: 'service', mode: 'read-only', label: 'Retired',
    help: 'Retired by an admin or as stale: holds no seat until restored.' },
  { code: 'NOT_ENROLLED', source: 'agent', mode: 'read-only', label: 'Not enrolled',
    help: "The agent has no identity yet: run 'devlic-agent enroll'." },
  { code: 'DEVICE_REVOKED', source: 'agent', mode: 'read-only', label: 'Revoked',
    help: 'The service revoked or forgot this device: enroll it again.' },
  { code: 'NO_ENTITLEMENT', source: 'agent', mode: 'read-only', label: 'No entitlement yet',
    help: 'Enrolled, but no entitlement has arrived yet: connect it to the network.' },
  { code: 'TOKEN_INVALID', source: 'agent', mode: 'read-only', label: 'Entitlement invalid',
    help: 'The stored entitlement does not verify against the pinned keys.' },
  { code: 'TOKEN_OTHER_DEVICE', source: 'agent', mode: 'read-only', label: 'Entitlement for another device',
    help: 'The stored entitlement names another device (copied data folder?).' },
  { code: 'TOKEN_REPLAYED', source: 'agent', mode: 'read-only', label: 'Entitlement replayed',
    help: 'The entitlement is older than one this device already accepted.' },
  { code: 'CLOCK_UNTRUSTED', source: 'agent', mode: 'read-only', label: 'Clock untrusted',
    help: 'The clock was turned back: read-only until the next successful sync.' },
  { code: 'TOKEN_NOT_YET_VALID', source: 'agent', mode: 'read-only', label: 'Entitlement not yet valid',
    help: 'The entitlement starts later than the trusted time.' },
  { code: 'TOKEN_EXPIRED', source: 'agent', mode: 'read-only', label: 'Offline too long',
    help: 'The offline validity ran out: connect to the network to renew it.' },
] as const satisfies readonly ReasonEntry[];

type Entry = (typeof REASONS)[number];
/** Every code this build knows. */
export type KnownReason = Entry['code'];
/** Codes the service signs into entitlements. */
export type ServiceReason = Extract<Entry, { source: 'service' }>['code'];
/** Codes only the agent decides. */
export type AgentReason = Extract<Entry, { source: 'agent' }>['code'];
/**
 * A code as received from the wire: one of `K`, or a newer code this build
 * does not know (kept, shown as-is). `string & {}` keeps the known codes
 * visible to the editor; code that must handle every case cannot forget the
 * unknown one.
 */
export type WireReason<K extends string> = K | (string & {});

export const SERVICE_REASON_CODES = REASONS.filter((r) => r.source === 'service').map((r) => r.code) as ServiceReason[];
export const AGENT_REASON_CODES = REASONS.filter((r) => r.source === 'agent').map((r) => r.code) as AgentReason[];

/** The shape of any reason code on the wire (new codes must follow it). */
export const REASON_CODE_PATTERN = '^[A-Z][A-Z0-9_]*$';

/** What a code this build does not know is shown as. */
export const UNKNOWN_REASON = {
  label: 'Other reason',
  help: 'A reason code this version does not know (sent by a newer service or agent); the mode follows the entitlement status.',
} as const;

const BY_CODE: ReadonlyMap<string, ReasonEntry> = new Map(REASONS.map((r) => [r.code, r]));

export function isKnownReason(code: string): code is KnownReason {
  return BY_CODE.has(code);
}

/** The catalogue entry for a code, or null for a code this build does not know. */
export function reasonInfo(code: string): ReasonEntry | null {
  return BY_CODE.get(code) ?? null;
}

/** A label for any code: the catalogue's, or the generic one. */
export function reasonLabel(code: string): string {
  return BY_CODE.get(code)?.label ?? UNKNOWN_REASON.label;
}
