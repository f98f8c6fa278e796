// Keeps rule groups' members equal to the devices their rules match. Runs
// inside the caller's transaction, before the entitlement recompute of that
// same transaction (ctx.mutate / ctx.refresh), so a rule change, an
// enrollment or a changed fact moves seats atomically with the membership.
// Rules are stored as text and parsed here: the text is the source of truth.
// At fleet scale (bench/rule-recompute.ts) each rule is compiled once, only
// the facts the rules read are loaded (on SQLite taken out of the JSON by
// SQLite; no tags for a rule without them), and the membership changes are
// written in bulk, not one statement per device.
import { compileRule, factsRead, parseRule, type CompiledRule, type DeviceFacts, type RuleFact, type RuleNode } from '../../shared/rules/index.ts';
import type { Aggregates } from '../store/store.ts';
import type { FactsRow } from '../store/queries/rules.ts';

/** The facts kept as JSON in devices.facts (what the agent sent at enrollment). */
const ENROLLMENT_FACTS: ReadonlySet<RuleFact> = new Set(['hostname', 'os', 'manufacturer', 'model', 'serial']);

/** What a rule reads from a device row: its enrollment facts, its reported agent and OS versions and its tags. */
export function factsOf(row: FactsRow, tags: readonly string[], json = true): DeviceFacts {
  let f: Record<string, unknown> = {};
  if (json) {
    try { f = JSON.parse(row.facts) as Record<string, unknown>; } catch { /* unreadable facts match nothing */ }
  }
  const s = (k: string) => (typeof f[k] === 'string' ? f[k] as string : null);
  return {
    hostname: s('hostname'), os: s('os'), osVersion: row.os_version, manufacturer: s('manufacturer'), model: s('model'),
    serial: s('serial'), agentVersion: row.agent_version, tags,
  };
}

/** Pure: for each rule group, the devices (of those given) its rule matches, in the order given. */
export function ruleMatches(groups: { id: string; node: RuleNode }[], devices: { id: string; facts: DeviceFacts }[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const g of groups) out.set(g.id, matching(compileRule(g.node), devices));
  return out;
}

function matching(test: CompiledRule, devices: { id: string; facts: DeviceFacts }[]): Set<string> {
  const hits = new Set<string>();
  for (let i = 0; i < devices.length; i++) if (test(devices[i]!.facts)) hits.add(devices[i]!.id);
  return hits;
}

/** Loads the facts (with tags) of every device in service, or of one; `read` (default all) limits what is loaded. */
export async function loadFacts(q: Aggregates, deviceId?: string, read?: ReadonlySet<RuleFact>): Promise<{ id: string; facts: DeviceFacts }[]> {
  const needTags = !read || read.has('tags');
  const [facts, tagRows] = await Promise.all([enrollmentFacts(q, deviceId, read), needTags ? q.rules.tags(deviceId) : Promise.resolve([])]);
  if (!needTags) return facts;
  const tags = new Map<string, string[]>();
  for (const t of tagRows) (tags.get(t.device_id) ?? tags.set(t.device_id, []).get(t.device_id)!).push(t.tag);
  for (const d of facts) d.facts.tags = tags.get(d.id) ?? [];
  return facts;
}

type EnrollmentFact = 'hostname' | 'os' | 'manufacturer' | 'model' | 'serial';

/** Every fact but the tags: the named enrollment facts taken out in SQL where the store can, else the JSON parsed here. */
async function enrollmentFacts(q: Aggregates, deviceId?: string, read?: ReadonlySet<RuleFact>): Promise<{ id: string; facts: DeviceFacts }[]> {
  const names = [...ENROLLMENT_FACTS].filter((f) => !read || read.has(f)) as EnrollmentFact[];
  let rows: Awaited<ReturnType<typeof q.rules.extractedFacts>> = null;
  try {
    rows = await q.rules.extractedFacts(names, deviceId);
  } catch {
    rows = null; // a malformed facts document somewhere: read them as text, where it matches nothing
  }
  const none: readonly string[] = [];
  if (rows === null) {
    const json = names.length > 0;
    return (await q.rules.facts(deviceId)).map((r) => ({ id: r.id, facts: factsOf(r, none, json) }));
  }
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  return rows.map((r) => ({
    id: r.id,
    facts: {
      hostname: s(r.f_hostname), os: s(r.f_os), osVersion: r.os_version, manufacturer: s(r.f_manufacturer), model: s(r.f_model),
      serial: s(r.f_serial), agentVersion: r.agent_version, tags: none,
    },
  }));
}

/**
 * Brings rule groups' membership in line with their rules: all rule groups
 * or only `groupId`, for all devices or only `deviceId`. Retired devices
 * are not matched (and lose rule memberships when this runs for them).
 */
export async function syncRuleMembership(q: Aggregates, at: string, only: { groupId?: string; deviceId?: string } = {}): Promise<{ added: number; removed: number }> {
  const groups = (await q.rules.groups()).filter((g) => only.groupId === undefined || g.id === only.groupId);
  if (groups.length === 0) return { added: 0, removed: 0 };
  const nodes = groups.map((g) => parseRule(g.rule));
  const read = new Set<RuleFact>();
  for (const n of nodes) factsRead(n, read);
  const devices = await loadFacts(q, only.deviceId, read);
  const have = new Map<string, Set<string>>(groups.map((g) => [g.id, new Set<string>()]));
  for (const m of await q.rules.members(groups.map((g) => g.id), only.deviceId)) have.get(m.group_id)!.add(m.device_id);
  let added = 0;
  let removed = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const test = compileRule(nodes[i]!);
    const h = have.get(g.id)!;
    const join: string[] = [];
    const stay = new Set<string>();
    for (const d of devices) {
      if (!test(d.facts)) continue;
      if (h.has(d.id)) stay.add(d.id);
      else join.push(d.id);
    }
    const leave: string[] = [];
    for (const d of h) if (!stay.has(d)) leave.push(d);
    removed += await q.rules.removeMembers(g.id, leave);
    added += await q.rules.addMembers(g.id, join, at);
  }
  return { added, removed };
}

/** "This rule matches N devices": evaluated over the current fleet, nothing written. A bad rule: RULE_INVALID. */
export async function previewRule(q: Aggregates, rule: string): Promise<{ matches: number; of: number; sample: { id: string; name: string }[] }> {
  const node = parseRule(rule);
  // The sample is named by host name, so that fact is read whatever the rule names.
  const devices = await loadFacts(q, undefined, factsRead(node, new Set<RuleFact>(['hostname'])));
  const test = compileRule(node);
  const hits = devices.filter((d) => test(d.facts))
    .map((d) => ({ id: d.id, name: d.facts.hostname ?? d.id }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return { matches: hits.length, of: devices.length, sample: hits.slice(0, 20) };
}
