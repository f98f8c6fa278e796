// Which event-log rows `devlic-agent logs` shows. Pure: the known event types
// (so a typo in --type is an error, not an empty answer) and the rule that
// hides no-op syncs, which arrive every poll and would bury everything else.
import { UsageError } from '../../shared/cli.ts';
import { AGENT_EVENT_TYPES, isAgentEventType, type AgentEventType } from '../../shared/events.ts';

/** Every event type the agent writes (shared/events.ts; the store's addEvent takes only these). */
export const EVENT_TYPES = AGENT_EVENT_TYPES;

export interface LogFilter {
  type?: AgentEventType;
  /** Also show syncs that changed nothing (a 304 every poll). */
  all: boolean;
}

/** Checks --type against the known types; a wrong one is a usage error naming them. */
export function logFilter(type: string | undefined, all: boolean): LogFilter {
  if (type !== undefined && !isAgentEventType(type)) {
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
