// Whether a path the root agent runs or writes through can be changed by
// anyone but root (or the agent's own user). Shared by the hook enforcer
// (the executable and every directory and symlink leading to it) and the
// writers (file enforcer, LibreOffice layer, fsutil's writeSafeFile), so one
// rule decides everywhere:
//
// - every entry (directory, symlink, file) is owned by root or by us;
// - no directory is writable by others, nor by a group other than root's
//   (gid 0), unless it has the sticky bit: in a sticky directory only an
//   entry's owner, the directory's owner and root may rename or delete it,
//   and that holds for group members exactly as for everyone else. Since the
//   entries below it are themselves checked to be root's, a group member (or
//   another user, as in /tmp) can only add new names, which we never use:
//   a name they planted is owned by them and refused by the first rule;
// - a file (the hook itself) is not writable by others nor by a non-root
//   group; the sticky bit means nothing on a file.
//
// The walk follows the path from / one component at a time with lstat, as
// the kernel resolves it, so a symlink anywhere (not only the last one) is
// judged itself - its owner, and the directory it sits in - before its
// target is walked the same way. A symlink only root can change is as safe
// as a directory, and real layouts need it: Debian's LibreOffice has
// /usr/lib/libreoffice/share/registry -> /etc/libreoffice/registry. A link
// someone else planted or could replace is refused. Writers then use the
// resolved directory, so what was checked is what is written. POSIX only:
// on Windows ACLs decide and the installer's folders are admin-only, so the
// walk is skipped there.
//
// With `root`, the part of the path below that directory is resolved as if
// it were / (a chroot or container image seen from the host): an absolute
// symlink in there restarts at `root`, and `..` stops at it, the way the
// kernel resolves paths for a process chrooted there. Debian's absolute
// links inside such a tree then lead to the tree's own files, never to the
// host's, and nothing in it can lead out of it.
import { promises as fsp, type Stats } from 'node:fs';
import { isAbsolute } from 'node:path';

export type EntryKind = 'dir' | 'file' | 'symlink';

export interface EntryFacts { mode: number; uid: number; gid: number }

/** The group other than "root" (gid 0) that may write an entry is a non-root party. */
export const ROOT_GID = 0;

/**
 * Why a non-root user could change this entry (or replace what is in it),
 * or undefined when none can. `me` is the agent's own uid, trusted like root.
 * Pure, so it is tested over every mode combination.
 */
export function entryProblem(e: EntryFacts, kind: EntryKind, me: number): string | undefined {
  if (e.uid !== 0 && e.uid !== me) return `is owned by uid ${e.uid}, not root`;
  if (kind === 'symlink') return undefined; // a link's own mode bits mean nothing
  const sticky = kind === 'dir' && (e.mode & 0o1000) !== 0;
  if ((e.mode & 0o002) && !sticky) return 'is world-writable';
  if ((e.mode & 0o020) && e.gid !== ROOT_GID && !sticky) return `is group-writable (gid ${e.gid})`;
  return undefined;
}

/** A path refused by the rule above; `code` is for callers that report machine-readably. */
export class UnsafePathError extends Error {
  readonly code = 'UNSAFE_PATH';
  /** The entry at fault (a directory, a link, or the leaf itself). */
  readonly at: string;
  readonly problem: string;
  /** `what` names the path's use, e.g. "hook /usr/local/sbin/x" or "write /etc/x". */
  constructor(at: string, problem: string, what?: string) {
    super(what ? `refusing ${what}: ${at} ${problem}` : `${at} ${problem}`);
    this.name = 'UnsafePathError';
    this.at = at;
    this.problem = problem;
  }

  /** The same refusal, saying what the path was for. */
  for(what: string): UnsafePathError {
    return new UnsafePathError(this.at, this.problem, what);
  }
}

export interface WalkOptions {
  /**
   * Components missing at the end: 'error' (ENOENT), 'ok' (stop there), or
   * 'create': make each one (mode `dirMode`), then check it like the rest, so
   * a name planted meanwhile is refused instead of followed.
   */
  missing?: 'error' | 'ok' | 'create';
  dirMode?: number;
  /** Judge the last component too (else only the directories and links above it). */
  checkLeaf?: boolean;
  platform?: NodeJS.Platform;
  /** Resolve below this directory as if it were / (see the header); `path` must lie under it. */
  root?: string;
}

export interface WalkResult {
  /** The path with every symlink resolved (as far as it exists). */
  real: string;
  /** lstat of the last component, when it exists. */
  leaf?: Stats;
  /** Components that did not exist (with missing: 'ok'). */
  missing: string[];
}

const MAX_LINKS = 40; // as the kernel's ELOOP limit

/**
 * Walks `path` from / and throws UnsafePathError at the first entry a
 * non-root user could change (see the header). Other errors (ENOENT,
 * ENOTDIR, ELOOP) are thrown as they are.
 */
export async function walkSafe(path: string, opts: WalkOptions): Promise<WalkResult> {
  if ((opts.platform ?? process.platform) === 'win32') {
    if (opts.missing === 'create') await fsp.mkdir(path, { recursive: true, mode: opts.dirMode ?? 0o755 });
    return { real: path, missing: [] };
  }
  if (!isAbsolute(path)) throw new Error(`path must be absolute: ${path}`);
  const me = process.getuid?.() ?? 0;
  const judge = (at: string, st: Stats, kind: EntryKind) => {
    const p = entryProblem(st, kind, me);
    if (p) throw new UnsafePathError(at, p);
  };
  let floor = '/';
  let remaining = split(path);
  if (opts.root !== undefined) {
    const inside = below(opts.root, path);
    // The way to the root itself is an ordinary host path, judged the same.
    floor = (await walkSafe(opts.root, { missing: 'error', platform: opts.platform })).real;
    remaining = inside;
  } else {
    judge('/', await fsp.lstat('/'), 'dir');
  }
  let cur = floor;
  let links = 0;
  let leaf: Stats | undefined;
  while (remaining.length) {
    const name = remaining.shift()!;
    if (name === '..') {
      // `cur` is always resolved, so its parent is what the kernel would use;
      // at the floor (/ or the root) `..` stays there.
      cur = cur === floor ? floor : parent(cur);
      leaf = await fsp.lstat(cur);
      continue;
    }
    const next = cur === '/' ? `/${name}` : `${cur}/${name}`;
    const isLast = remaining.length === 0;
    let st: Stats;
    try {
      st = await fsp.lstat(next);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !opts.missing || opts.missing === 'error') throw e;
      if (opts.missing === 'ok') return { real: next, missing: [name, ...remaining] };
      try {
        await fsp.mkdir(next, { mode: opts.dirMode ?? 0o755 });
      } catch (m) {
        if ((m as NodeJS.ErrnoException).code !== 'EEXIST') throw m;
      }
      st = await fsp.lstat(next); // ours, or what someone planted meanwhile: judged below either way
    }
    if (st.isSymbolicLink()) {
      judge(next, st, 'symlink');
      if (++links > MAX_LINKS) throw Object.assign(new Error(`too many symbolic links in ${path}`), { code: 'ELOOP' });
      const target = await fsp.readlink(next);
      if (isAbsolute(target)) cur = floor;
      remaining = [...split(target), ...remaining];
      continue;
    }
    const kind: EntryKind = st.isDirectory() ? 'dir' : 'file';
    if (!isLast && kind !== 'dir') throw Object.assign(new Error(`${next} is not a directory`), { code: 'ENOTDIR' });
    if (!isLast || kind === 'dir' || opts.checkLeaf) judge(next, st, kind);
    cur = next;
    leaf = st;
  }
  return { real: cur, leaf, missing: [] };
}

/**
 * Throws unless `dir` is a directory that no non-root user can change, nor
 * anything on the way to it (directories and symlinks). With `create`,
 * missing directories are made (with that mode) and checked as they are.
 * Returns its resolved path (`real`): write there.
 */
export async function assertSafeDir(dir: string, opts: { create?: number; missingOk?: boolean; platform?: NodeJS.Platform } = {}): Promise<WalkResult> {
  const r = await walkSafe(dir, {
    missing: opts.create !== undefined ? 'create' : opts.missingOk ? 'ok' : 'error',
    dirMode: opts.create,
    platform: opts.platform,
  });
  if (r.leaf && !r.leaf.isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
  return r;
}

/**
 * The components of `path` below `root` (both absolute); throws when `path`
 * does not start with `root`. A `..` after the root stays in the result: the
 * walk resolves it inside the root (never lexically, which would skip a link).
 */
export function below(root: string, path: string): string[] {
  if (!isAbsolute(root) || !isAbsolute(path)) throw new Error(`root and path must be absolute: ${root}, ${path}`);
  const r = split(root);
  const p = split(path);
  if (r.includes('..') || p.length < r.length || r.some((c, i) => p[i] !== c)) {
    throw Object.assign(new Error(`${path} is not inside ${root}`), { code: 'NOT_IN_ROOT' });
  }
  return p.slice(r.length);
}

function split(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function parent(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
