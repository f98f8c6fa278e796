// Case-insensitive glob matching for the rule language's `like`: `*` is any
// run of characters (also none), `?` exactly one; everything else is literal
// (there is no escape for a literal `*` or `?`). No regular expressions, so a
// hostile pattern cannot make matching slow: the loop is O(len(text) * len(pattern)) worst case.
// A pattern is compiled once per rule (lower-cased, split into code points);
// a text with no character outside the BMP, the usual case, is matched by
// index without being split.

const ASTRAL = /[\uD800-\uDFFF]/;

export function globMatch(pattern: string, text: string): boolean {
  return compileGlob(pattern)(text);
}

export function compileGlob(pattern: string): (text: string) => boolean {
  const p = [...pattern.toLowerCase()];
  // Every pattern character is one UTF-16 unit unless the pattern itself has astral characters.
  const bmp = !ASTRAL.test(pattern);
  return (text) => {
    const t = text.toLowerCase();
    return bmp && !ASTRAL.test(t) ? match(p, t) : match(p, [...t]);
  };
}

/** `t` a string (one unit per character) or an array of code points: indexed the same way. */
function match(p: string[], t: string | string[]): boolean {
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) { pi++; ti++; continue; }
    if (pi < p.length && p[pi] === '*') { starP = pi++; starT = ti; continue; }
    if (starP >= 0) { pi = starP + 1; ti = ++starT; continue; }
    return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}
