// The rule language's syntax tree and the facts it can name. Shared by the
// parser, the evaluator and the service (which stores rules as text and
// re-parses them: the text is the source of truth, the AST is cheap).

export const RULE_FACTS = ['hostname', 'os', 'osVersion', 'manufacturer', 'model', 'serial', 'agentVersion', 'tags'] as const;
export type RuleFact = typeof RULE_FACTS[number];

/** Longest rule accepted, in characters. */
export const MAX_RULE_LENGTH = 2000;
/** Deepest nesting of parentheses and `not` accepted. */
export const MAX_RULE_DEPTH = 32;

export type RuleNode =
  | { type: 'and' | 'or'; left: RuleNode; right: RuleNode }
  | { type: 'not'; operand: RuleNode }
  | { type: 'compare'; fact: RuleFact; op: '==' | '!=' | 'like'; value: string }
  | { type: 'in'; fact: RuleFact; values: string[] };

/** What the evaluator reads: a device's reported facts (null when not reported) and its admin-set tags. */
export type DeviceFacts = { [K in Exclude<RuleFact, 'tags'>]?: string | null } & { tags?: readonly string[] };
