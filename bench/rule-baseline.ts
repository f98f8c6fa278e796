// The rule-membership recompute as it was before the benchmark's change
// (service/licensing/rule-membership.ts and shared/rules/evaluate.ts, glob.ts
// at commit aa04335), kept only so bench/rule-recompute.ts can time it
// against the current code in the same run. Not used by the service.
import type { DeviceFacts, RuleNode } from '../shared/rules/index.ts';
import { parseRule } from '../shared/rules/index.ts';
import type { Aggregates } from '../service/store/store.ts';

function globMatch(pattern: string, text: string): boolean {
  const p = [...pattern.toLowerCase()];
  const t = [...text.toLowerCase()];
  let pi = 0, ti = 0, starP = -1, starT = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) { pi++; ti++; continue; }
    if (pi < p.length && p[pi] === '*') { starP = pi++; starT = ti; continue; }
    if (starP >= 0) { pi = starP + 1; ti = ++starT; continue; }
    return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

function evaluateRule(node: RuleNode, facts: DeviceFacts): boolean {
  switch (node.type) {
    case 'and': return evaluateRule(node.left, facts) && evaluateRule(node.right, facts);
    case 'or': return evaluateRule(node.left, facts) || evaluateRule(node.right, facts);
    case 'not': return !evaluateRule(node.operand, facts);
    case 'in': {
      const wanted = new Set(node.values.map((s) => s.toLowerCase()));
      return valuesOf(node.fact, facts).some((v) => wanted.has(v.toLowerCase()));
    }
    case 'compare': {
      const values = valuesOf(node.fact, facts);
      if (node.op === 'like') return values.some((v) => globMatch(node.value, v));
      const has = values.some((v) => v.toLowerCase() === node.value.toLowerCase());
      return node.op === '==' ? has : !has;
    }
  }
}

function valuesOf(fact: keyof DeviceFacts, facts: DeviceFacts): readonly string[] {
  if (fact === 'tags') return facts.tags ?? [];
  const v = facts[fact];
  return v === null || v === undefined ? [] : [v];
}

export async function baselineSyncRuleMembership(q: Aggregates, at: string, only: { groupId?: string; deviceId?: string } = {}): Promise<{ added: number; removed: number }> {
  const groups = (await q.rules.groups()).filter((g) => only.groupId === undefined || g.id === only.groupId);
  if (groups.length === 0) return { added: 0, removed: 0 };
  const [rows, tagRows] = await Promise.all([
    q.rules.facts(only.deviceId) as Promise<{ id: string; facts: string; agent_version: string | null; os_version: string | null }[]>,
    q.rules.tags(only.deviceId),
  ]);
  const tags = new Map<string, string[]>();
  for (const t of tagRows) (tags.get(t.device_id) ?? tags.set(t.device_id, []).get(t.device_id)!).push(t.tag);
  const devices = rows.map((r) => {
    let f: Record<string, unknown> = {};
    try { f = JSON.parse(r.facts) as Record<string, unknown>; } catch { /* match nothing */ }
    const s = (k: string) => (typeof f[k] === 'string' ? f[k] as string : null);
    return { id: r.id, facts: { hostname: s('hostname'), os: s('os'), osVersion: r.os_version, manufacturer: s('manufacturer'), model: s('model'), serial: s('serial'), agentVersion: r.agent_version, tags: tags.get(r.id) ?? [] } };
  });
  const want = new Map<string, Set<string>>();
  for (const g of groups) {
    const node = parseRule(g.rule);
    want.set(g.id, new Set(devices.filter((d) => evaluateRule(node, d.facts)).map((d) => d.id)));
  }
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
