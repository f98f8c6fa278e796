// "Did you mean ...?" for a group, subscription or device name that was not
// found: names within a small edit distance of what was typed, ignoring case,
// or starting with it. Pure, so that the NOT_FOUND path only adds a query.

/** Most edits (insert, delete, substitute, swap two neighbours) a suggestion may need. */
export function maxEdits(typed: string): number {
  const n = [...typed].length;
  return n <= 3 ? 1 : n <= 8 ? 2 : 3;
}

/**
 * Edit distance (optimal string alignment: Levenshtein plus swapping two
 * neighbouring characters), or `limit + 1` as soon as it must exceed `limit`.
 */
export function editDistance(a: string, b: string, limit: number): number {
  const s = [...a];
  const t = [...b];
  if (Math.abs(s.length - t.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[t.length] <= limit ? prev[t.length] : limit + 1;
}

/**
 * Up to `max` names close to `typed`, closest first (then alphabetical).
 * A name that starts with what was typed (3 characters or more) counts as close.
 */
export function nearNames(typed: string, names: Iterable<string>, max = 3): string[] {
  const want = typed.trim().toLowerCase();
  if (want === '') return [];
  const limit = maxEdits(want);
  const found = new Map<string, number>();
  for (const name of names) {
    const low = name.toLowerCase();
    const d = [...want].length >= 3 && low.startsWith(want) ? 0.5 : editDistance(want, low, limit);
    if (d <= limit && (!found.has(name) || found.get(name)! > d)) found.set(name, d);
  }
  return [...found].sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0])).slice(0, max).map(([n]) => n);
}

/** The sentence appended to a NOT_FOUND message, or ''. */
export function didYouMean(suggestions: string[]): string {
  if (suggestions.length === 0) return '';
  const q = suggestions.map((s) => `'${s}'`);
  return `; did you mean ${q.length === 1 ? q[0] : `${q.slice(0, -1).join(', ')} or ${q.at(-1)}`}?`;
}
