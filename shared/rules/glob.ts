// Case-insensitive glob matching for the rule language's `like`: `*` is any
// run of characters (also none), `?` exactly one; everything else is literal
// (there is no escape for a literal `*` or `?`). No regular expressions, so a
// hostile pattern cannot make matching slow: the loop is O(len(text) * len(pattern)) worst case.

export function globMatch(pattern: string, text: string): boolean {
  // Arrays of code points, so `?` matches one character even outside the BMP.
  const p = [...pattern.toLowerCase()];
  const t = [...text.toLowerCase()];
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
