// Tokenizer for the group-rule language (docs/design.md, "Rule-based groups").
// Pure: turns rule text into tokens with 1-based columns so every parse error
// can point at the place the admin has to fix.
import { ruleError } from './errors.ts';

export type TokenKind = 'word' | 'string' | '==' | '!=' | '(' | ')' | '[' | ']' | ',' | 'end';

export interface Token {
  kind: TokenKind;
  /** The word itself, or the decoded string literal. */
  text: string;
  /** 1-based column of the token's first character. */
  col: number;
}

const SINGLE: Record<string, TokenKind> = { '(': '(', ')': ')', '[': '[', ']': ']', ',': ',' };
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t' };

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const col = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (SINGLE[c]) { tokens.push({ kind: SINGLE[c]!, text: c, col }); i++; continue; }
    if (c === '=' || c === '!') {
      if (src[i + 1] !== '=') throw ruleError(`expected '${c}=' at ${col}`, col);
      tokens.push({ kind: c === '=' ? '==' : '!=', text: `${c}=`, col });
      i += 2;
      continue;
    }
    if (c === '"') { i = readString(src, i, tokens); continue; }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      tokens.push({ kind: 'word', text: src.slice(i, j), col });
      i = j;
      continue;
    }
    throw ruleError(`unexpected character '${c}' at ${col}`, col);
  }
  tokens.push({ kind: 'end', text: '', col: src.length + 1 });
  return tokens;
}

/** Reads the string literal opening at `start`; returns the index after its closing quote. */
function readString(src: string, start: number, tokens: Token[]): number {
  let out = '';
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"') {
      tokens.push({ kind: 'string', text: out, col: start + 1 });
      return i + 1;
    }
    if (c === '\\') {
      const e = src[i + 1];
      if (e === undefined) break;
      const decoded = ESCAPES[e];
      if (decoded === undefined) throw ruleError(`unknown escape '\\${e}' at ${i + 1}`, i + 1);
      out += decoded;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw ruleError(`unterminated string starting at ${start + 1}`, start + 1);
}
