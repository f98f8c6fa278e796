// The event types the agent writes to its event log (agent/store: addEvent)
// and `devlic-agent logs --type` filters by. One list: the store only accepts
// these, the CLI refuses any other --type, and docs/reasons.md lists them
// (checked by test/shared/reasons.unit.test.ts).
export const AGENT_EVENT_TYPES = [
  'agent-start', 'agent-stop', 'clock-back', 'clock-jump', 'database-recovered', 'drift-repaired', 'enroll', 'error',
  'key-rejected', 'keys', 'merge-refused', 'merged', 'mode-change', 'reload', 'revoked',
  'sign-in', 'sign-out', 'sync', 'token-rejected', 'warning',
] as const;

export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];

export function isAgentEventType(type: string): type is AgentEventType {
  return (AGENT_EVENT_TYPES as readonly string[]).includes(type);
}
