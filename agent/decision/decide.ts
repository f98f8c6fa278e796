// The decision: full or read-only, and why. One PURE function of its inputs
// (no I/O, no clock read) so that it can be tested exhaustively. Callers
// gather the inputs (evaluate.ts) and re-verify the stored token's signature
// every time, so the database alone can never produce "full".
//
// Rules, first match wins:
//  1. not enrolled                         -> read-only NOT_ENROLLED
//  2. service revoked/forgot this device   -> read-only DEVICE_REVOKED
//  3. no token / bad token / other device  -> read-only NO_ENTITLEMENT / TOKEN_INVALID / TOKEN_OTHER_DEVICE
//  4. token older than one already accepted-> read-only TOKEN_REPLAYED
//  5. token says unlicensed                -> read-only with the service's reason
//  6. clock not trustworthy (below)        -> read-only CLOCK_UNTRUSTED
//  7. before nbf (minus tolerance)         -> read-only TOKEN_NOT_YET_VALID
//  8. at or after exp                      -> read-only TOKEN_EXPIRED
//  9. otherwise full (reason from the token, normally ASSIGNED), with an
//     EXPIRES_SOON warning from warnAt on.
//
// Clock policy. After each successful sync the agent records the service's
// time and its own clock reading at that moment (sync point), and the highest
// service time ever seen (high water, also raised by every verified token's
// iat). "Effective now" = local now + (service time - local time) at the last
// sync, so a device whose clock is simply wrong but which syncs keeps working.
// The clock is UNTRUSTED, and the device read-only, when
//   - the local clock reads earlier than it did at the last sync (turned back
//     since then), or
//   - the local clock reads earlier than the latest reading the agent itself
//     recorded since the last sync (the observed mark, observed-time.ts), or
//   - effective now is earlier than the high water mark,
// each beyond CLOCK_TOLERANCE_MS (absorbs NTP slews and the 1 s resolution of
// HTTP Date). We do not keep full mode on an untrusted clock: with the clock
// turned back nothing bounds how long an offline device has really been away,
// and the 90-day offline limit is exactly what the clock enforces. The state
// clears on the next successful sync, which re-anchors the sync point and the
// observed mark.
//
// The observed mark is the only LOCAL time that counts against the clock, and
// only until the next sync: offline, moving the clock ahead (the token
// expires) and back again cannot make the device full, because the agent saw
// the later time; online, a clock that was wrongly far ahead is forgiven by
// the next sync (the service's time wins). Local readings never raise the
// trusted high water mark, which stays service time only.
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import type { Mode } from '../../shared/schemas/common.ts';
import type { AgentReason } from '../../shared/reasons.ts';
import type { ObservedMark } from './observed-time.ts';

export const CLOCK_TOLERANCE_MS = 5 * 60_000;

export type EntitlementInput =
  | { kind: 'none' }
  | { kind: 'invalid'; code: Extract<AgentReason, 'TOKEN_INVALID' | 'TOKEN_OTHER_DEVICE'>; message: string }
  | { kind: 'valid'; claims: EntitlementClaims };

export interface ClockInput {
  /** Highest service time seen (ms), or null before the first sync. */
  highWaterMs: number | null;
  /** Service time and local time at the last successful sync. */
  sync: { serverMs: number; localMs: number } | null;
  /** Latest local clock reading the agent recorded since the last sync (observed-time.ts), or null. */
  observed: ObservedMark | null;
}

export interface DecideInput {
  enrolled: boolean;
  revoked: boolean;
  entitlement: EntitlementInput;
  /** Highest seq this device has accepted (watermark); 0 when none. */
  minSeq: number;
  clock: ClockInput;
  /** The local clock's reading, ms. */
  nowMs: number;
  /** The person signing in, if the decision is for a sign-in. It does not change the device decision; user licences are decide-user.ts. */
  user?: string;
}

/**
 * The agent's own codes and the service's (shared/reasons.ts). The service's
 * part is open-ended: a code from a newer service is passed through as-is,
 * and the mode follows the token's status (rule 5 / 9), never the code.
 */
export type DecisionReason = AgentReason | EntitlementClaims['reason'];

export interface Warning {
  code: 'EXPIRES_SOON';
  expiresAt: number;
  message: string;
}

export interface Decision {
  mode: Mode;
  reason: DecisionReason;
  warning?: Warning;
  user?: string;
  /** The clock used to judge the token (ms), when the clock was consulted. */
  effectiveNowMs?: number;
  /** Why the clock is untrusted, for the log. */
  detail?: string;
}

function readOnly(reason: DecisionReason, input: DecideInput, extra: Partial<Decision> = {}): Decision {
  return { mode: 'read-only', reason, ...(input.user !== undefined ? { user: input.user } : {}), ...extra };
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Effective now, or why the clock cannot be trusted. */
export function judgeClock(clock: ClockInput, nowMs: number): { ok: true; effectiveNowMs: number } | { ok: false; detail: string } {
  let effective = nowMs;
  if (clock.sync) {
    if (nowMs < clock.sync.localMs - CLOCK_TOLERANCE_MS) {
      return { ok: false, detail: `local clock is ${Math.round((clock.sync.localMs - nowMs) / 1000)} s behind its reading at the last sync` };
    }
    effective = nowMs + (clock.sync.serverMs - clock.sync.localMs);
  }
  if (clock.observed && nowMs < clock.observed.localMs - CLOCK_TOLERANCE_MS) {
    const o = clock.observed;
    const when = o.reason === null ? 'at a successful sync' : `when it decided ${o.reason}`;
    return { ok: false, detail: `local clock is ${Math.round((o.localMs - nowMs) / 1000)} s behind the latest time this device observed (${isoOrRaw(o.localMs)}, ${when})` };
  }
  if (clock.highWaterMs !== null && effective < clock.highWaterMs - CLOCK_TOLERANCE_MS) {
    return { ok: false, detail: `clock is ${Math.round((clock.highWaterMs - effective) / 1000)} s behind the latest trusted time` };
  }
  return { ok: true, effectiveNowMs: effective };
}

export function decide(input: DecideInput): Decision {
  if (!input.enrolled) return readOnly('NOT_ENROLLED', input);
  if (input.revoked) return readOnly('DEVICE_REVOKED', input);
  const e = input.entitlement;
  if (e.kind === 'none') return readOnly('NO_ENTITLEMENT', input);
  if (e.kind === 'invalid') return readOnly(e.code, input, { detail: e.message });
  const c = e.claims;
  if (c.seq < input.minSeq) return readOnly('TOKEN_REPLAYED', input, { detail: `seq ${c.seq} is older than accepted seq ${input.minSeq}` });
  if (c.status !== 'licensed') return readOnly(c.reason, input);

  // A signed iat is trusted time too: the device cannot be earlier than that.
  const hw = Math.max(input.clock.highWaterMs ?? 0, c.iat * 1000);
  const clock = judgeClock({ ...input.clock, highWaterMs: hw }, input.nowMs);
  if (!clock.ok) return readOnly('CLOCK_UNTRUSTED', input, { detail: clock.detail });
  const now = clock.effectiveNowMs;
  if (now < c.nbf * 1000 - CLOCK_TOLERANCE_MS) return readOnly('TOKEN_NOT_YET_VALID', input, { effectiveNowMs: now });
  if (now >= c.exp * 1000) return readOnly('TOKEN_EXPIRED', input, { effectiveNowMs: now });

  const out: Decision = { mode: 'full', reason: c.reason, effectiveNowMs: now };
  if (input.user !== undefined) out.user = input.user;
  if (now >= c.warnAt * 1000) {
    const days = Math.max(0, Math.ceil((c.exp * 1000 - now) / 86_400_000));
    out.warning = {
      code: 'EXPIRES_SOON', expiresAt: c.exp * 1000,
      message: `the offline licence expires in ${days} day${days === 1 ? '' : 's'}; connect to the network so the device can renew it`,
    };
  }
  return out;
}
