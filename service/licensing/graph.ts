// Group nesting as a graph: which groups a licence reaches, and whether a new
// nesting would create a cycle (refused: a cycle would make "who is licensed"
// depend on traversal order).

export interface Edge { parent: string; child: string }

export function childrenIndex(edges: readonly Edge[]): Map<string, string[]> {
  const idx = new Map<string, string[]>();
  for (const e of edges) {
    let list = idx.get(e.parent);
    if (!list) idx.set(e.parent, (list = []));
    list.push(e.child);
  }
  return idx;
}

/** The group and every group nested in it, at any depth; safe on cyclic input. */
export function descendantsAndSelf(root: string, edges: readonly Edge[], index = childrenIndex(edges)): string[] {
  const out: string[] = [];
  const seen = new Set<string>([root]);
  const queue = [root];
  while (queue.length) {
    const g = queue.shift()!;
    out.push(g);
    for (const c of index.get(g) ?? []) {
      if (!seen.has(c)) { seen.add(c); queue.push(c); }
    }
  }
  return out;
}

/** True when nesting `child` inside `parent` would close a cycle. */
export function wouldCreateCycle(parent: string, child: string, edges: readonly Edge[]): boolean {
  if (parent === child) return true;
  return descendantsAndSelf(child, edges).includes(parent);
}
