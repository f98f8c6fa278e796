// The group-rule language: tokenizer, parser (errors with exact messages and
// columns, precedence, limits) and evaluator (case, missing facts, tags as a set, globs).
import { describe, expect, it } from 'vitest';
import { DevlicError } from '../../shared/errors.ts';
import { mulberry32 } from '../helpers/prng.ts';
import { evaluateRule, globMatch, MAX_RULE_DEPTH, parseRule, type DeviceFacts } from '../../shared/rules/index.ts';

/** Compact rendering of an AST so precedence is easy to read in tables. */
function show(src: string): string {
  const r = (n: ReturnType<typeof parseRule>): string => {
    switch (n.type) {
      case 'and': case 'or': return `(${r(n.left)} ${n.type} ${r(n.right)})`;
      case 'not': return `(not ${r(n.operand)})`;
      case 'in': return `${n.fact} in ${JSON.stringify(n.values)}`;
      case 'compare': return `${n.fact} ${n.op} ${JSON.stringify(n.value)}`;
    }
  };
  return r(parseRule(src));
}

function errorOf(src: string): { message: string; column: unknown; code: string } {
  try {
    parseRule(src);
  } catch (e) {
    expect(e).toBeInstanceOf(DevlicError);
    const d = e as DevlicError;
    return { message: d.message, column: d.details?.column, code: d.code };
  }
  throw new Error(`parsed without error: ${src}`);
}

describe('parseRule: valid rules and precedence', () => {
  it.each([
    ['hostname == "lab-01"', 'hostname == "lab-01"'],
    ['os!="Windows"', 'os != "Windows"'],
    ['model like "Think*"', 'model like "Think*"'],
    ['os in ["Windows", "macOS"]', 'os in ["Windows","macOS"]'],
    ['tags in ["a"]', 'tags in ["a"]'],
    ['serial == ""', 'serial == ""'],
    ['hostname == "a\\"b\\\\c\\n\\t"', 'hostname == "a\\"b\\\\c\\n\\t"'],
    ['os == "a" or os == "b" and os == "c"', '(os == "a" or (os == "b" and os == "c"))'],
    ['os == "a" and os == "b" or os == "c"', '((os == "a" and os == "b") or os == "c")'],
    ['(os == "a" or os == "b") and os == "c"', '((os == "a" or os == "b") and os == "c")'],
    ['not os == "a" and os == "b"', '((not os == "a") and os == "b")'],
    ['not (os == "a" and os == "b")', '(not (os == "a" and os == "b"))'],
    ['not not os == "a"', '(not (not os == "a"))'],
    ['os == "a" or os == "b" or os == "c"', '((os == "a" or os == "b") or os == "c")'],
    ['os == "a" and os == "b" and os == "c"', '((os == "a" and os == "b") and os == "c")'],
    ['  \n\tagentVersion like "1.*"  ', 'agentVersion like "1.*"'],
    ['manufacturer == "é ü 😀"', 'manufacturer == "é ü 😀"'],
    ['osVersion in ["1", "2",  "3"]', 'osVersion in ["1","2","3"]'],
  ])('%s', (src, expected) => {
    expect(show(src)).toBe(expected);
  });
});

describe('parseRule: errors name the column', () => {
  it.each([
    ['hostname like ', "rule: expected a value after 'like' at 15", 15],
    ['hostname like', "rule: expected a value after 'like' at 14", 14],
    ['', 'rule: expected a fact (hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags), found the end of the rule at 1', 1],
    ['ram == "8"', "rule: unknown fact 'ram' (known: hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags) at 1", 1],
    ['Hostname == "a"', "rule: unknown fact 'Hostname' (known: hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags) at 1", 1],
    ['and == "a"', "rule: expected a fact (hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags), found 'and' at 1", 1],
    ['"x" == os', 'rule: expected a fact (hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags), found a value at 1', 1],
    ['os = "a"', "rule: expected '==' at 4", 4],
    ['os ! "a"', "rule: expected '!=' at 4", 4],
    ['os "a"', "rule: expected ==, !=, like or in after 'os', found a value at 4", 4],
    ['os', "rule: expected ==, !=, like or in after 'os', found the end of the rule at 3", 3],
    ['os == Windows', "rule: expected a value after '==' (values are in double quotes) at 7", 7],
    ['os != ', "rule: expected a value after '!=' at 7", 7],
    ['os in "a"', "rule: expected '[' after 'in' at 7", 7],
    ['os in []', "rule: expected a value after '[' at 8", 8],
    ['os in ["a",]', "rule: expected a value after ',' at 12", 12],
    ['os in ["a" "b"]', "rule: expected ',' or ']' in the list opened at 7, found a value at 12", 12],
    ['os in ["a"', "rule: expected ',' or ']' in the list opened at 7, found the end of the rule at 11", 11],
    ['os == "a', 'rule: unterminated string starting at 7', 7],
    ['os == "a\\', 'rule: unterminated string starting at 7', 7],
    ['os == "a\\x"', "rule: unknown escape '\\x' at 9", 9],
    ['os == "a" os == "b"', "rule: expected 'and', 'or' or the end of the rule at 11", 11],
    ['os == "a" and', 'rule: expected a fact (hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags), found the end of the rule at 14', 14],
    ['os == "a" or or os == "b"', "rule: expected a fact (hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags), found 'or' at 14", 14],
    ['(os == "a"', "rule: expected ')' to close the '(' at 1, found the end of the rule at 11", 11],
    ['(os == "a"]', "rule: expected ')' to close the '(' at 1, found ']' at 11", 11],
    ['os == "a")', "rule: expected 'and', 'or' or the end of the rule at 10", 10],
    ['os == "a" && os == "b"', "rule: unexpected character '&' at 11", 11],
    ['os == \'a\'', "rule: unexpected character ''' at 7", 7],
    ['not', 'rule: expected a fact (hostname, os, osVersion, manufacturer, model, serial, agentVersion, tags), found the end of the rule at 4', 4],
    ['os like', "rule: expected a value after 'like' at 8", 8],
  ])('%j', (src, message, column) => {
    expect(errorOf(src)).toEqual({ message, column, code: 'RULE_INVALID' });
  });

  it('refuses a rule longer than 2,000 characters, and accepts one of exactly 2,000', () => {
    const exact = `hostname == "${'a'.repeat(2000 - 'hostname == ""'.length)}"`;
    expect(exact.length).toBe(2000);
    expect(() => parseRule(exact)).not.toThrow();
    expect(errorOf(exact + ' ')).toEqual({ message: 'rule: longer than 2000 characters at 2001', column: 2001, code: 'RULE_INVALID' });
  });

  it(`refuses nesting deeper than ${MAX_RULE_DEPTH}, and accepts exactly ${MAX_RULE_DEPTH}`, () => {
    const nest = (n: number) => `${'('.repeat(n)}os == "a"${')'.repeat(n)}`;
    expect(show(nest(MAX_RULE_DEPTH))).toBe('os == "a"');
    expect(errorOf(nest(MAX_RULE_DEPTH + 1))).toEqual({ message: `rule: nested deeper than ${MAX_RULE_DEPTH} levels at ${MAX_RULE_DEPTH + 1}`, column: MAX_RULE_DEPTH + 1, code: 'RULE_INVALID' });
    const nots = 'not '.repeat(MAX_RULE_DEPTH + 1) + 'os == "a"';
    expect(errorOf(nots).message).toBe(`rule: nested deeper than ${MAX_RULE_DEPTH} levels at ${MAX_RULE_DEPTH * 4 + 1}`);
  });

  it('a long flat chain of and/or within the length limit parses and evaluates (no deep recursion limit hit)', () => {
    const chain = Array.from({ length: 130 }, (_, i) => `os == "${i}"`).join(' or ');
    expect(chain.length).toBeLessThanOrEqual(2000);
    expect(evaluateRule(parseRule(chain), { os: "129" })).toBe(true);
    expect(evaluateRule(parseRule(chain), { os: "130" })).toBe(false);
  });
});

describe('evaluateRule', () => {
  const laptop: DeviceFacts = {
    hostname: 'LAB-PC-07', os: 'Windows', osVersion: '10.0.22631', manufacturer: 'LENOVO', model: 'ThinkPad T14',
    serial: 'PF3ABC', agentVersion: '1.4.2', tags: ['lab', 'Floor-2'],
  };
  const bare: DeviceFacts = { hostname: 'mac-01', os: null };

  it.each([
    ['hostname == "lab-pc-07"', laptop, true],
    ['hostname == "LAB-PC-07"', laptop, true],
    ['hostname == "LAB-PC-0"', laptop, false],
    ['hostname != "lab-pc-07"', laptop, false],
    ['hostname like "lab-*"', laptop, true],
    ['hostname like "lab-pc-0?"', laptop, true],
    ['hostname like "lab-pc-?"', laptop, false],
    ['hostname like "*"', laptop, true],
    ['model like "*t14"', laptop, true],
    ['os in ["macOS", "windows"]', laptop, true],
    ['os in ["macOS", "Linux"]', laptop, false],
    ['tags == "lab"', laptop, true],
    ['tags == "LAB"', laptop, true],
    ['tags == "floor-2"', laptop, true],
    ['tags == "floor"', laptop, false],
    ['tags != "lab"', laptop, false],
    ['tags != "kiosk"', laptop, true],
    ['tags like "floor-*"', laptop, true],
    ['tags in ["kiosk", "lab"]', laptop, true],
    ['tags in ["kiosk"]', laptop, false],
    ['tags == "lab"', bare, false],
    ['tags != "lab"', bare, true],
    ['os == "Windows"', bare, false],
    ['os != "Windows"', bare, true],
    ['os like "*"', bare, false],
    ['os in ["Windows"]', bare, false],
    ['serial == ""', bare, false],
    ['not os == "Windows"', laptop, false],
    ['os == "Windows" and not tags == "kiosk"', laptop, true],
    ['os == "macOS" or hostname like "lab-*" and tags == "lab"', laptop, true],
    ['(os == "macOS" or hostname like "lab-*") and tags == "kiosk"', laptop, false],
    ['os == "macOS" or hostname like "mac-*" and tags == "lab"', bare, false],
    ['hostname like "mac-*" and (os == "x" or not os == "x")', bare, true],
  ] as const)('%s on %o', (src, facts, expected) => {
    expect(evaluateRule(parseRule(src), facts)).toBe(expected);
  });
});

describe('globMatch', () => {
  it.each([
    ['', '', true], ['', 'a', false], ['*', '', true], ['?', '', false], ['a*b', 'ab', true], ['a*b', 'aXYb', true],
    ['a*b', 'aXYbc', false], ['*b*', 'abc', true], ['a?c', 'abc', true], ['a?c', 'ac', false], ['**a', 'a', true],
    ['a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', false], ['?', '😀', true], ['ABC', 'abc', true], ['a.c', 'abc', false],
    ['[ab]', 'a', false], ['[ab]', '[ab]', true],
    // One `?` is one character outside the BMP too, whether the pattern, the text or both have such characters.
    ['?x', '😀x', true], ['??', '😀', false], ['😀*', '😀abc', true], ['A😀', 'a😀', true], ['*?', '😀', true], ['x?', 'x😀y', false],
  ] as const)('%j ~ %j', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  it('agrees with a regular-expression reference on random patterns and texts (BMP and astral)', () => {
    const rand = mulberry32(14);
    const alphabet = ['a', 'b', 'A', '.', '-', '😀', '*', '?'];
    const pick = (n: number, from: string[]) => Array.from({ length: Math.floor(rand() * n) }, () => from[Math.floor(rand() * from.length)]).join('');
    const reference = (pattern: string, text: string) => new RegExp(`^${[...pattern.toLowerCase()].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : (c === '.' ? '\\.' : c))).join('')}$`, 'su').test(text.toLowerCase());
    for (let i = 0; i < 3000; i++) {
      const pattern = pick(7, alphabet);
      const text = pick(9, alphabet.slice(0, 6));
      expect(globMatch(pattern, text), `${pattern} ~ ${text}`).toBe(reference(pattern, text));
    }
  });

  it('a pathological pattern on a long text stays fast', () => {
    const t0 = performance.now();
    expect(globMatch(`${'*a'.repeat(500)}b`, 'a'.repeat(2000))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
