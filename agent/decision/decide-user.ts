// The per-user decision (issue 16): which mode one signed-in person gets, and
// which licence gave it. PURE, like decide.ts, and built on it: a user token
// goes through exactly the same checks as the device token (signature is
// re-verified by the caller; replay watermark, service status, trusted clock,
// nbf, exp), so a user licence can never be more lenient than a device one.
//
// Rules, first match wins:
//  1. the device decision is full                 -> full, licence 'device'
//  2. the user's token decides full (decide())    -> full, licence 'user'
//  3. a user token is cached (valid or not)       -> read-only, the user token's reason
//  4. no user token, the service is unreachable   -> the device's mode and reason, firstSignIn 'offline'
//  5. no user token yet, the agent is asking      -> the device's mode and reason, firstSignIn 'pending'
// Rule 1 first: a device licence covers everyone, and a broken or stale user
// token must not take away what the device gives. Rules 4-5: without a token
// the agent knows nothing about the person, so it says so instead of
// guessing, and the person gets what anyone gets on this device.
import type { Mode } from '../../shared/schemas/common.ts';
import type { UserEntitlementClaims } from '../../shared/schemas/user.ts';
import type { AgentReason } from '../../shared/reasons.ts';
import { decide, type ClockInput, type Decision, type DecisionReason } from './decide.ts';

export type UserEntitlementInput =
  | { kind: 'none' }
  | { kind: 'invalid'; code: Extract<AgentReason, 'TOKEN_INVALID' | 'TOKEN_OTHER_DEVICE'>; message: string }
  | { kind: 'valid'; claims: UserEntitlementClaims };

export interface UserDecideInput {
  /** The normalised sign-in name (shared/sign-in.ts). */
  user: string;
  /** The device's own decision (decide()) at the same moment. */
  device: Decision;
  enrolled: boolean;
  revoked: boolean;
  entitlement: UserEntitlementInput;
  /** Highest seq accepted for this user on this device; 0 when none. */
  minSeq: number;
  clock: ClockInput;
  nowMs: number;
  /** Whether the agent's last exchange with the service succeeded. */
  online: boolean;
}

export type Licence = 'device' | 'user';

export interface UserDecision {
  user: string;
  mode: Mode;
  /** The licence that gave full mode; null when read-only. */
  licence: Licence | null;
  /** Why: the deciding licence's reason when full; the user token's (or, without one, the device's) when read-only. */
  reason: DecisionReason;
  /** Set when the agent has no user token yet: it decided from the device alone. */
  firstSignIn?: 'offline' | 'pending';
  /** The user token's own verdict, when there is a token. */
  userReason?: DecisionReason;
  /** Whose licence the user token is, when a sign-in domain alias makes `user` another spelling of that person. */
  person?: string;
  detail?: string;
  warning?: Decision['warning'];
}

export function decideUser(input: UserDecideInput): UserDecision {
  const { user, device } = input;
  if (device.mode === 'full') {
    return { user, mode: 'full', licence: 'device', reason: device.reason, ...(device.warning ? { warning: device.warning } : {}) };
  }
  const e = input.entitlement;
  if (e.kind === 'none') {
    return {
      user, mode: device.mode, licence: null, reason: device.reason, firstSignIn: input.online ? 'pending' : 'offline',
      detail: input.online
        ? 'no user entitlement yet for this person: asking the service; the device licence decides meanwhile'
        : 'first sign-in while offline: no user entitlement is known for this person, so the device licence decides',
    };
  }
  // A token for someone else is refused like a token for another device: it is never this person's licence.
  const entitlement = e.kind === 'valid' && e.claims.user !== user
    ? { kind: 'invalid' as const, code: 'TOKEN_INVALID' as const, message: `user entitlement is for ${e.claims.user}, not ${user}` }
    : e;
  const d = decide({
    enrolled: input.enrolled, revoked: input.revoked, entitlement, minSeq: input.minSeq, clock: input.clock, nowMs: input.nowMs,
  });
  if (d.mode === 'full') {
    return { user, mode: 'full', licence: 'user', reason: d.reason, userReason: d.reason, ...(d.warning ? { warning: d.warning } : {}) };
  }
  return { user, mode: 'read-only', licence: null, reason: d.reason, userReason: d.reason, ...(d.detail ? { detail: d.detail } : {}) };
}

/**
 * The one mode for a per-machine layer (LibreOffice's system configuration)
 * shared by everyone signed in: full only when EVERY signed-in user is full.
 * A machine-wide "full" would hand full apps to an unlicensed person signed
 * in beside a licensed one, which is exactly what licensing forbids; the
 * price is that a licensed person sharing the machine with an unlicensed one
 * gets read-only there (per-user layers still give them full). With nobody
 * signed in the device's own mode applies. `unnamed`: people signed in whose
 * account name is no sign-in name (shared/sign-in.ts), who count as having
 * the device's mode.
 */
export function machineMode(device: Decision, users: readonly UserDecision[], unnamed = 0): { mode: Mode; reason: DecisionReason } {
  // People signed in whose account name is no sign-in name can hold no user licence: the device decides for them.
  if (unnamed > 0 && device.mode !== 'full') return { mode: device.mode, reason: device.reason };
  if (users.length === 0) return { mode: device.mode, reason: device.reason };
  const ro = users.find((u) => u.mode !== 'full');
  if (ro) return { mode: 'read-only', reason: ro.reason };
  return { mode: 'full', reason: device.mode === 'full' ? device.reason : users[0].reason };
}
