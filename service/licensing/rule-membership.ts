// Keeps rule groups' members equal to the devices their rules match. Runs
// inside the caller's transaction, before the entitlement recompute of that
// same transaction (ctx.mutate / ctx.refresh), so a rule change, an
// enrollment or a changed fact moves seats atomically with the membership.
// Rules are stored as text and parsed here: the text is the source of truth.
import { evaluateRule, parseRule, type DeviceFacts, type RuleNode } from '../../shared/rules/index.ts';
import type { Aggregates } from '../store/store.ts';
import type { FactsRow } from '../store/queries/rules.ts';

/** What a rule reads from a device row: its enrollment facts, its reported agent and OS versions and its tags. */
export function factsOf(row: FactsRow, tags: readonly string[]): DeviceFacts {
  let f: Record<string, unknown> = {};
  try { f = JSON.parse(row.facts) as Record<string, unknown>; } catch { /* unreadable facts match nothing */ }
  const s = (k: string) => (typeof f[k] === 'string' ? f[k] as string : null);
  return {
    hostname: s('hostname'), os: s('os'), osVersion: row.os_version, manufacturer: s('manufacturer'), model: s('model'),
    serial: s('serial'), agentVersion: row.agent_version, tags,
  };
}

/** Pure: for each rule group, the devices (of those given) its rule matches. */
export function ruleMatches(groups: { id: string; node: RuleNode }[], devices: { id: string; facts: DeviceFacts }[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const g of groups) out.set(g.id, new Set(devices.filter((d) => evaluateRule(g.node, d.facts)).map((d) => d.id)));
  return out;
}

/** Loads the facts (with tags) of every device in service, or of one. */
export async function loadFacts(q: Aggregates, deviceId?: string): Promise<{ id: string; facts: DeviceFacts }[]> {
  const [rows, tagRows] = await Promise.all([q.rules.facts(deviceId), q.rules.tags(deviceId)]);
  const tags = new Map<string, string[]>();
  for (const t of tagRows) (tags.get(t.device_id) ?? tags.set(t.device_id, []).get(t.device_id)!).push(t.tag);
  return rows.map((r) => ({ id: r.id, facts: factsOf(r, tags.get(r.id) ?? []) }));
}

/**
 * Brings rule groups' membership in line with their rules: all rule groups
 * or only `groupId`, for all devices or only `deviceId`. Retired devices
 * are not matched (and lose rule memberships when this runs for them).
 */
export async function syncRuleMembership(q: Aggregates, at: string, only: { groupId?: string; deviceId?: string } = {}): Promise<{ added: number; removed: number }> {
  const groups = (await q.rules.groups()).filter((g) => only.groupId === undefined || g.id === only.groupId);
  if (groups.length === 0) return { added: 0, removed: 0 };
  const devices = await loadFacts(q, only.deviceId);
  const want = ruleMatches(groups.map((g) => ({ id: g.id, node: parseRule(g.rule) })), devices);
  const have = new Map<string, Set<string>>(groups.map((g) => [g.id, new Set<string>()]));
  for (const m of await q.rules.members(groups.map((g) => g.id), only.deviceId)) have.get(m.group_id)!.add(m.device_id);
  let added = 0;
  let removed = 0;
  for (const g of groups) {
    const w = want.get(g.id)!;
    const h = have.get(g.id)!;
    for (const d of devices) if (w.has(d.id) && !h.has(d.id) && await q.groups.addMember(g.id, d.id, at)) added++;
    for (const d of h) if (!w.has(d) && await q.groups.removeMember(g.id, d)) removed++;
  }
  return { added, removed };
}

/** "This rule matches N devices": evaluated over the current fleet, nothing written. A bad rule: RULE_INVALID. */
export async function previewRule(q: Aggregates, rule: string): Promise<{ matches: number; of: number; sample: { id: string; name: string }[] }> {
  const node = parseRule(rule);
  const devices = await loadFacts(q);
  const hits = devices.filter((d) => evaluateRule(node, d.facts))
    .map((d) => ({ id: d.id, name: d.facts.hostname ?? d.id }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return { matches: hits.length, of: devices.length, sample: hits.slice(0, 20) };
}
