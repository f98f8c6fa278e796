// Recursive-descent parser for the group-rule language. Grammar (lowest
// precedence first; `and` binds tighter than `or`, `not` tighter than both):
//   rule       := or END
//   or         := and ('or' and)*
//   and        := unary ('and' unary)*
//   unary      := 'not' unary | '(' or ')' | comparison
//   comparison := FACT ('==' | '!=' | 'like') STRING | FACT 'in' '[' STRING (',' STRING)* ']'
// Keywords and fact names are case-sensitive. Every error names the column.
import { MAX_RULE_DEPTH, MAX_RULE_LENGTH, RULE_FACTS, type RuleFact, type RuleNode } from './ast.ts';
import { ruleError } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';

const KEYWORDS = new Set(['and', 'or', 'not', 'like', 'in']);
const FACTS = new Set<string>(RULE_FACTS);

export function parseRule(src: string): RuleNode {
  if (src.length > MAX_RULE_LENGTH) {
    throw ruleError(`longer than ${MAX_RULE_LENGTH} characters at ${MAX_RULE_LENGTH + 1}`, MAX_RULE_LENGTH + 1);
  }
  return new Parser(tokenize(src)).rule();
}

class Parser {
  private pos = 0;
  private depth = 0;

  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  rule(): RuleNode {
    const node = this.or();
    const t = this.peek();
    if (t.kind !== 'end') {
      throw ruleError(`expected 'and', 'or' or the end of the rule at ${t.col}`, t.col);
    }
    return node;
  }

  private or(): RuleNode {
    let left = this.and();
    while (this.isWord('or')) {
      this.pos++;
      left = { type: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): RuleNode {
    let left = this.unary();
    while (this.isWord('and')) {
      this.pos++;
      left = { type: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): RuleNode {
    const t = this.peek();
    if (this.isWord('not') || t.kind === '(') {
      if (++this.depth > MAX_RULE_DEPTH) throw ruleError(`nested deeper than ${MAX_RULE_DEPTH} levels at ${t.col}`, t.col);
      this.pos++;
      let node: RuleNode;
      if (t.kind === '(') {
        node = this.or();
        const close = this.peek();
        if (close.kind !== ')') throw ruleError(`expected ')' to close the '(' at ${t.col}, found ${describe(close)} at ${close.col}`, close.col);
        this.pos++;
      } else {
        node = { type: 'not', operand: this.unary() };
      }
      this.depth--;
      return node;
    }
    return this.comparison();
  }

  private comparison(): RuleNode {
    const factTok = this.next();
    if (factTok.kind !== 'word' || KEYWORDS.has(factTok.text)) {
      throw ruleError(`expected a fact (${RULE_FACTS.join(', ')}), found ${describe(factTok)} at ${factTok.col}`, factTok.col);
    }
    if (!FACTS.has(factTok.text)) {
      throw ruleError(`unknown fact '${factTok.text}' (known: ${RULE_FACTS.join(', ')}) at ${factTok.col}`, factTok.col);
    }
    const fact = factTok.text as RuleFact;
    const op = this.next();
    if (op.kind === '==' || op.kind === '!=' || (op.kind === 'word' && op.text === 'like')) {
      return { type: 'compare', fact, op: op.kind === 'word' ? 'like' : op.kind, value: this.value(op) };
    }
    if (op.kind === 'word' && op.text === 'in') return { type: 'in', fact, values: this.list(op) };
    throw ruleError(`expected ==, !=, like or in after '${fact}', found ${describe(op)} at ${op.col}`, op.col);
  }

  private list(inTok: Token): string[] {
    const open = this.next();
    if (open.kind !== '[') throw ruleError(`expected '[' after '${inTok.text}' at ${open.col}`, open.col);
    const values = [this.value(open)];
    for (;;) {
      const t = this.next();
      if (t.kind === ']') return values;
      if (t.kind !== ',') throw ruleError(`expected ',' or ']' in the list opened at ${open.col}, found ${describe(t)} at ${t.col}`, t.col);
      values.push(this.value(t));
    }
  }

  /** A string literal; `after` is the token it must follow, named in the error. */
  private value(after: Token): string {
    const t = this.next();
    if (t.kind !== 'string') {
      const hint = t.kind === 'word' ? ' (values are in double quotes)' : '';
      throw ruleError(`expected a value after '${after.text}'${hint} at ${t.col}`, t.col);
    }
    return t.text;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'end') this.pos++;
    return t;
  }

  private isWord(w: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text === w;
  }
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end of the rule';
  if (t.kind === 'string') return 'a value';
  return `'${t.text}'`;
}
