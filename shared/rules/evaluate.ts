// Evaluates a parsed rule against one device's facts. Semantics (documented
// in docs/design.md): every comparison ignores case; a fact the device never
// reported never equals, matches or is `in` anything (so `!=` is true for it);
// `tags` is a set: `tags == "lab"` means "has the tag lab", `tags != "lab"`
// "does not have it", `tags like "lab-*"` "has a tag matching", `tags in [..]`
// "has at least one of them".
import type { DeviceFacts, RuleNode } from './ast.ts';
import { globMatch } from './glob.ts';

export function evaluateRule(node: RuleNode, facts: DeviceFacts): boolean {
  switch (node.type) {
    case 'and': return evaluateRule(node.left, facts) && evaluateRule(node.right, facts);
    case 'or': return evaluateRule(node.left, facts) || evaluateRule(node.right, facts);
    case 'not': return !evaluateRule(node.operand, facts);
    case 'in': {
      const wanted = new Set(node.values.map(fold));
      return valuesOf(node.fact, facts).some((v) => wanted.has(fold(v)));
    }
    case 'compare': {
      const values = valuesOf(node.fact, facts);
      if (node.op === 'like') return values.some((v) => globMatch(node.value, v));
      const has = values.some((v) => fold(v) === fold(node.value));
      return node.op === '==' ? has : !has;
    }
  }
}

function valuesOf(fact: keyof DeviceFacts, facts: DeviceFacts): readonly string[] {
  if (fact === 'tags') return facts.tags ?? [];
  const v = facts[fact];
  return v === null || v === undefined ? [] : [v];
}

function fold(s: string): string {
  return s.toLowerCase();
}
