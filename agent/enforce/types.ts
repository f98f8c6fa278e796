// The one small interface every app integration implements. An enforcer
// applies a mode idempotently and reports what it changed; adding an app is
// one file plus its line in the registry (registry.ts).
import type { Mode } from '../../shared/schemas/common.ts';

export interface EnforcementTarget {
  mode: Mode;
  /** Machine-readable reason code from the decision, e.g. ASSIGNED, TOKEN_EXPIRED. */
  reason: string;
  /** Users signed in right now (may be empty); enforcers with per-user layers use it. */
  users: string[];
  /**
   * Each signed-in person's own mode (issue 16), sorted by user; `mode` above
   * is then the per-machine mode: full only when every one of them is full.
   * Absent when the agent decided for the device alone.
   */
  userModes?: UserMode[];
}

/** One signed-in person's mode and the licence that gave it (null: read-only). */
export interface UserMode {
  /** Normalised sign-in name (shared/sign-in.ts): never holds ',' or '='. */
  user: string;
  mode: Mode;
  licence: 'device' | 'user' | null;
  reason: string;
}

export interface ApplyResult {
  enforcer: string;
  /** false when the mode could not be applied; `error` says why. */
  ok: boolean;
  /** true when this call changed something on the system. */
  changed: boolean;
  /** What is in force now, in words for `devlic-agent status`. */
  applied: string;
  /** Extra facts for status --json (paths written, commands run, version found...). */
  detail?: Record<string, unknown>;
  error?: string;
}

export interface CheckResult {
  enforcer: string;
  ok: boolean;
  message: string;
}

/**
 * What an enforcer found when it compared the system's actual state with the
 * wanted mode (the drift check, run every minute and on `refresh`).
 */
export interface VerifyResult {
  enforcer: string;
  /** What differs from the wanted state, one short phrase each; empty: in sync. */
  drift: string[];
  /** In sync without a read: nothing about the file changed since the last read found it so (stat-memo.ts). */
  unchanged?: boolean;
}

export interface Enforcer {
  readonly name: string;
  apply(target: EnforcementTarget): Promise<ApplyResult>;
  /**
   * Reads the actual state and says what differs from `target` (the target
   * last applied). Changes nothing; apply() repairs. Where the state cannot
   * be read at all (wrong platform, app not installed) it reports no drift:
   * that failure is apply()'s to report, once.
   */
  verify(target: EnforcementTarget): Promise<VerifyResult>;
  /** Used by `devlic-agent doctor`: can this enforcer work on this machine? */
  check(): Promise<CheckResult>;
}
