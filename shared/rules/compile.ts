// Turns a parsed rule into one predicate, built once per rule and run per
// device: the rule's values are lower-cased, its `in` lists made into sets
// and its `like` patterns split once, so judging a device allocates nothing
// but the lower-cased fact values. The semantics are evaluate.ts's (which
// runs this), documented in docs/design.md.
import type { DeviceFacts, RuleFact, RuleNode } from './ast.ts';
import { compileGlob } from './glob.ts';

export type CompiledRule = (facts: DeviceFacts) => boolean;

export function compileRule(node: RuleNode): CompiledRule {
  switch (node.type) {
    case 'and': { const l = compileRule(node.left), r = compileRule(node.right); return (f) => l(f) && r(f); }
    case 'or': { const l = compileRule(node.left), r = compileRule(node.right); return (f) => l(f) || r(f); }
    case 'not': { const o = compileRule(node.operand); return (f) => !o(f); }
    case 'in': {
      const wanted = new Set(node.values.map(fold));
      return anyValue(node.fact, (v) => wanted.has(fold(v)));
    }
    case 'compare': {
      if (node.op === 'like') return anyValue(node.fact, compileGlob(node.value));
      const want = fold(node.value);
      const has = anyValue(node.fact, (v) => v === node.value || fold(v) === want);
      return node.op === '==' ? has : (f) => !has(f);
    }
  }
}

/** The facts a rule reads (a loader can skip the rest). */
export function factsRead(node: RuleNode, into = new Set<RuleFact>()): Set<RuleFact> {
  switch (node.type) {
    case 'and': case 'or': factsRead(node.left, into); factsRead(node.right, into); break;
    case 'not': factsRead(node.operand, into); break;
    default: into.add(node.fact);
  }
  return into;
}

/** True when `test` holds for one of the fact's values: none for a fact not reported, each tag for `tags`. */
function anyValue(fact: RuleFact, test: (v: string) => boolean): CompiledRule {
  if (fact === 'tags') {
    return (f) => {
      const tags = f.tags;
      if (!tags) return false;
      for (let i = 0; i < tags.length; i++) if (test(tags[i]!)) return true;
      return false;
    };
  }
  return (f) => {
    const v = f[fact];
    return v !== null && v !== undefined && test(v);
  };
}

function fold(s: string): string {
  return s.toLowerCase();
}
