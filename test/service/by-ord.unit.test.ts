// The seat race's order (service/licensing/by-ord.ts): on seeded random
// candidates, the counting sort and the comparator both give what a stable
// sort by ord gives (ties in the order listed), for compact integer ords,
// sparse ones, fractions and ords past 2^40.
import { describe, expect, it } from 'vitest';
import { byOrd } from '../../service/licensing/by-ord.ts';
import { mulberry32 as prng } from '../helpers/prng.ts';

describe('byOrd', () => {
  it('orders candidates as a stable sort by ord does, on 2000 seeded cases of every kind of ord', () => {
    const kinds = [(o: number) => o, (o: number) => o * 1_000_003, (o: number) => o / 4, (o: number) => o + 2 ** 40];
    for (let seed = 1; seed <= 2000; seed++) {
      const rnd = prng(seed);
      const n = Math.floor(rnd() * 60);
      const c = Math.floor(rnd() * (n + 1));
      // c distinct devices out of n, listed in a random order: `at` is each one's place in the list.
      const devices = Array.from({ length: n }, (_, i) => i).sort(() => rnd() - 0.5).slice(0, c);
      const kind = kinds[seed % kinds.length];
      const ord = new Float64Array(n);
      for (let i = 0; i < n; i++) ord[i] = kind(Math.floor(rnd() * (c / 2 + 3))); // ties often
      const at = new Int32Array(n);
      devices.forEach((d, j) => { at[d] = j; });
      const want = [...devices].sort((a, b) => ord[a] - ord[b]); // Array.prototype.sort is stable
      expect([...byOrd(Int32Array.from(devices), ord, at)], `seed ${seed}`).toEqual(want);
    }
  });
});
