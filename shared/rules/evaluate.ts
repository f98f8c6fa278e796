// Evaluates a parsed rule against one device's facts. Semantics (documented
// in docs/design.md): every comparison ignores case; a fact the device never
// reported never equals, matches or is `in` anything (so `!=` is true for it);
// `tags` is a set: `tags == "lab"` means "has the tag lab", `tags != "lab"`
// "does not have it", `tags like "lab-*"` "has a tag matching", `tags in [..]`
// "has at least one of them". One device, once: for many, compile the rule
// (compile.ts) and run the predicate, which is what this does.
import type { DeviceFacts, RuleNode } from './ast.ts';
import { compileRule } from './compile.ts';

export function evaluateRule(node: RuleNode, facts: DeviceFacts): boolean {
  return compileRule(node)(facts);
}
