// The group-rule language: parse once, evaluate per device. Pure, no I/O.
export { parseRule } from './parser.ts';
export { evaluateRule } from './evaluate.ts';
export { compileRule, factsRead, type CompiledRule } from './compile.ts';
export { compileGlob, globMatch } from './glob.ts';
export { MAX_RULE_DEPTH, MAX_RULE_LENGTH, RULE_FACTS, type DeviceFacts, type RuleFact, type RuleNode } from './ast.ts';
