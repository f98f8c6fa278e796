// Pure (I/O injected): a directory group's computer objects, nested groups
// followed. Each DN is read at most once, so a cycle (A in B, B in A) ends,
// and a group reached twice is counted once. `known` holds the computers
// already fetched in bulk (a paged search), which need no read of their own.
import { DevlicError } from '../../shared/errors.ts';
import { normDn, type Computer } from './match.ts';

export type DirEntry =
  | { kind: 'group'; members: string[] }
  | { kind: 'computer'; computer: Computer }
  | { kind: 'other' };

export interface Walked {
  computers: Computer[];
  /** Groups read: the root and every nested group. */
  groups: number;
  /** Member values that name no entry (deleted objects still listed). */
  dangling: number;
}

export async function walkGroup(rootDn: string, known: ReadonlyMap<string, Computer>, read: (dn: string) => Promise<DirEntry | null>): Promise<Walked> {
  const w = await walkNested(rootDn, known, read, (e) => (e.kind === 'computer' ? e.computer : undefined));
  return { computers: w.found, groups: w.groups, dangling: w.dangling };
}

/**
 * The walk both kinds of directory group share (computers here, user objects
 * in user-walk.ts): `leafOf` picks the wanted object out of an entry
 * (undefined: a group, or an entry of another kind, skipped).
 */
export async function walkNested<E extends { kind: string; members?: string[] }, T>(
  rootDn: string, known: ReadonlyMap<string, T>, read: (dn: string) => Promise<E | null>, leafOf: (e: E) => T | undefined,
): Promise<{ found: T[]; groups: number; dangling: number }> {
  const root = await read(rootDn);
  if (root === null) throw new DevlicError('DIRECTORY_FAILED', `the directory has no entry '${rootDn}'`);
  if (root.kind !== 'group') throw new DevlicError('DIRECTORY_FAILED', `'${rootDn}' is not a group (objectClass group, groupOfNames or groupOfUniqueNames)`);
  const seen = new Set<string>([normDn(rootDn)]);
  const found = new Map<string, T>();
  let groups = 1;
  let dangling = 0;
  const queue: string[][] = [root.members ?? []];
  while (queue.length > 0) {
    for (const dn of queue.shift()!) {
      const key = normDn(dn);
      if (seen.has(key)) continue;
      seen.add(key);
      const k = known.get(key);
      if (k) { found.set(key, k); continue; }
      const e = await read(dn);
      if (e === null) { dangling++; continue; }
      const leaf = leafOf(e);
      if (leaf !== undefined) found.set(key, leaf);
      else if (e.kind === 'group') { groups++; queue.push(e.members ?? []); }
    }
  }
  return { found: [...found.values()], groups, dangling };
}
