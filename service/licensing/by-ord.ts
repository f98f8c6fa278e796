// The seat race's order (allocate.ts): a subscription's candidates by their
// membership ord, ties in the order they were reached. Apart from the
// allocation because it picks between two ways of sorting.

/**
 * The candidates by ord, ties in first-reached order (`at`: their place in
 * `cands`). Integer ords in a range of at most a few times the candidates
 * (membership ords are a sequence) are counted into place: stable by
 * construction, four plain loops; a comparator sort of 100,000 candidates
 * runs its comparator ~1-2 million times, interpreted at first in a
 * service's first recompute. Other ords take the comparator. (Packing ord
 * and place into one double for the native numeric sort was tried: no
 * faster.)
 */
export function byOrd(cands: Int32Array, ord: Float64Array, at: Int32Array): Int32Array {
  const c = cands.length;
  let lo = Infinity, hi = -Infinity, ints = true;
  for (let j = 0; j < c; j++) {
    const o = ord[cands[j]];
    if (o < lo) lo = o;
    if (o > hi) hi = o;
    if (o !== Math.floor(o)) ints = false;
  }
  if (c < 2) return cands;
  if (!ints || !(hi - lo <= 4 * c + 1024)) return cands.sort((a, b) => ord[a] - ord[b] || at[a] - at[b]);
  const start = new Int32Array(hi - lo + 2); // start[o - lo]: where the first candidate of ord o goes
  for (let j = 0; j < c; j++) start[ord[cands[j]] - lo + 1]++;
  for (let r = 1; r < start.length; r++) start[r] += start[r - 1];
  const out = new Int32Array(c);
  for (let j = 0; j < c; j++) {
    const i = cands[j];
    out[start[ord[i] - lo]++] = i;
  }
  return out;
}
