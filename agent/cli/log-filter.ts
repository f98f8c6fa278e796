// Which event-log rows `devlic-agent logs` shows. Pure: the known event types
// (so a typo in --type is an error, not an empty answer) and the rule that
// hides no-op syncs, which arrive every poll and would bury everything else.
import { UsageError } from '../../shared/cli.ts';

/** Every event type the agent writes (keep in step with the addEvent calls). */
export const EVENT_TYPES = [
  'agent-start', 'agent-stop', 'clock-back', 'clock-jump', 'database-recovered', 'enroll', 'error',
  'key-rejected', 'keys', 'merge-refused', 'merged', 'mode-change', 'reload', 'revoked',
  'sign-in', 'sign-out', 'sync', 'token-rejected', 'warning',
] as const;

export interface LogFilter {
  type?: string;
  /** Also show syncs that changed nothing (a 304 every poll). */
  all: boolean;
}

/** Checks --type against the known types; a wrong one is a usage error naming them. */
export function logFilter(type: string | undefined, all: boolean): LogFilter {
  if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`unknown event type '${type}' (known: ${EVENT_TYPES.join(', ')})`);
  }
  return { type, all };
}

/** A sync that only confirmed the cached entitlement. */
export function isNoOpSync(e: { type: string; reason: string | null }): boolean {
  return e.type === 'sync' && e.reason === 'UNCHANGED';
}

export function shows(f: LogFilter, e: { type: string; reason: string | null }): boolean {
  if (f.type !== undefined && e.type !== f.type) return false;
  return f.all || !isNoOpSync(e);
}
