// Why the agent decides (again): recorded with every mode change (the
// 'mode-change' event's `cause`) and steering a few rules in the daemon.
// One closed list, so a branch on a cause is checked by the compiler.
export type Cause =
  | 'start'        // the daemon started
  | 'reload'       // enrollment changed (control message or the safety net)
  | 'refresh'      // an admin's refresh without a connection, or the one-shot pass
  | 'expiry-check' // the scheduled re-decision (a token may have expired)
  | 'sync'         // a sync succeeded
  | 'sync-failed'  // a sync failed (offline rules apply)
  | 'revoked'      // the service no longer accepts this device
  | 'sign-in'
  | 'sign-out'
  | 'user-licence'; // a signed-in person's user licence arrived or changed (issue 16)

/** The cause of the decision that follows a sync's outcome. */
export function syncCause(o: { ok: true } | { ok: false; revoked: boolean }): Cause {
  return o.ok ? 'sync' : o.revoked ? 'revoked' : 'sync-failed';
}

/** A sync's own outcome is decided at once, even while the sync after a clock jump is awaited (it may be that sync). */
export function isSyncOutcome(c: Cause): boolean {
  return c === 'sync' || c === 'sync-failed' || c === 'revoked';
}
