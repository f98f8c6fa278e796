// Group nesting (service/licensing/graph.ts): reach through nesting at any
// depth, and cycle detection for a proposed nesting.
import { describe, expect, it } from 'vitest';
import { childrenIndex, descendantsAndSelf, wouldCreateCycle, type Edge } from '../../service/licensing/graph.ts';

const e = (parent: string, child: string): Edge => ({ parent, child });
const sorted = (xs: string[]) => [...xs].sort();

describe('childrenIndex', () => {
  it('lists the direct children of each parent', () => {
    const idx = childrenIndex([e('a', 'b'), e('a', 'c'), e('b', 'c')]);
    expect(idx.get('a')).toEqual(['b', 'c']);
    expect(idx.get('b')).toEqual(['c']);
    expect(idx.has('c')).toBe(false);
  });
});

describe('descendantsAndSelf', () => {
  it('is just the group when it has no children (or is not in the graph at all)', () => {
    expect(descendantsAndSelf('a', [])).toEqual(['a']);
    expect(descendantsAndSelf('zz', [e('a', 'b')])).toEqual(['zz']);
  });

  it('starts with the group itself and reaches every depth', () => {
    const edges = [e('a', 'b'), e('b', 'c'), e('c', 'd'), e('d', 'e'), e('x', 'a')];
    const out = descendantsAndSelf('a', edges);
    expect(out[0]).toBe('a');
    expect(sorted(out)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // Parents are not descendants.
    expect(out).not.toContain('x');
  });

  it('lists a group reached by two paths (diamond) once', () => {
    const edges = [e('top', 'left'), e('top', 'right'), e('left', 'bottom'), e('right', 'bottom'), e('bottom', 'leaf')];
    const out = descendantsAndSelf('top', edges);
    expect(sorted(out)).toEqual(['bottom', 'leaf', 'left', 'right', 'top']);
    expect(new Set(out).size).toBe(out.length);
  });

  it('terminates on cycles and self-loops, listing each group once', () => {
    const edges = [e('a', 'b'), e('b', 'c'), e('c', 'a'), e('c', 'c'), e('b', 'd')];
    expect(sorted(descendantsAndSelf('a', edges))).toEqual(['a', 'b', 'c', 'd']);
    expect(sorted(descendantsAndSelf('c', edges))).toEqual(['a', 'b', 'c', 'd']);
    expect(descendantsAndSelf('s', [e('s', 's')])).toEqual(['s']);
  });

  it('gives the same answer with a prebuilt index', () => {
    const edges = [e('a', 'b'), e('b', 'c'), e('a', 'd')];
    expect(descendantsAndSelf('a', edges, childrenIndex(edges))).toEqual(descendantsAndSelf('a', edges));
  });

  it('handles a long chain and a wide fan-out', () => {
    const chain = Array.from({ length: 5000 }, (_, i) => e(`c${i}`, `c${i + 1}`));
    expect(descendantsAndSelf('c0', chain)).toHaveLength(5001);
    const fan = Array.from({ length: 5000 }, (_, i) => e('root', `k${i}`));
    expect(descendantsAndSelf('root', fan)).toHaveLength(5001);
  });
});

describe('wouldCreateCycle', () => {
  it('refuses nesting a group inside itself', () => {
    expect(wouldCreateCycle('a', 'a', [])).toBe(true);
  });

  it('refuses the direct reverse of an existing nesting', () => {
    expect(wouldCreateCycle('b', 'a', [e('a', 'b')])).toBe(true);
  });

  it('refuses closing a deep cycle', () => {
    const edges = [e('school', 'year7'), e('year7', 'tablets'), e('tablets', 'tablets-a'), e('tablets-a', 'cart-3')];
    expect(wouldCreateCycle('cart-3', 'school', edges)).toBe(true);
    expect(wouldCreateCycle('tablets', 'year7', edges)).toBe(true);
  });

  it('allows a diamond: a group nested under two parents that share an ancestor is no cycle', () => {
    const edges = [e('top', 'left'), e('top', 'right'), e('left', 'bottom')];
    expect(wouldCreateCycle('right', 'bottom', edges)).toBe(false);
    expect(wouldCreateCycle('top', 'bottom', edges)).toBe(false);
  });

  it('allows unrelated and forward nestings, including an existing one again', () => {
    const edges = [e('a', 'b'), e('b', 'c')];
    expect(wouldCreateCycle('a', 'c', edges)).toBe(false);
    expect(wouldCreateCycle('a', 'b', edges)).toBe(false);
    expect(wouldCreateCycle('x', 'y', edges)).toBe(false);
    expect(wouldCreateCycle('c', 'x', edges)).toBe(false);
  });

  it('agrees with a brute-force reachability check on random graphs', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let round = 0; round < 300; round++) {
      const n = 2 + Math.floor(rnd() * 8);
      const edges: Edge[] = [];
      // Acyclic by construction (parent index < child index), as the database keeps it.
      for (let c = 1; c < n; c++) for (let p = 0; p < c; p++) if (rnd() < 0.3) edges.push(e(`g${p}`, `g${c}`));
      const reaches = (from: string, to: string): boolean => {
        const seen = new Set([from]);
        for (let grew = true; grew;) {
          grew = false;
          for (const x of edges) if (seen.has(x.parent) && !seen.has(x.child)) { seen.add(x.child); grew = true; }
        }
        return seen.has(to);
      };
      const parent = `g${Math.floor(rnd() * n)}`;
      const child = `g${Math.floor(rnd() * n)}`;
      expect(wouldCreateCycle(parent, child, edges), `${parent} <- ${child} in ${JSON.stringify(edges)}`).toBe(reaches(child, parent));
    }
  });
});
