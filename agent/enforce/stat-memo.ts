// The drift check's shortcut for a file that has not changed since it was
// last read and found in sync (issue 18, part 5): the file's identity and
// change times (device, inode, size, mode, owner, mtime, ctime, in
// nanoseconds) are compared with those of that read, and only when one of
// them differs is the file read and parsed again. Pure apart from the caller's
// lstat; the enforcer decides what "in sync" means.
//
// Why a stat cannot hide a change here:
// - A user who is not root cannot change the file at all: it is root's, 0644,
//   in a folder only root can change (safe-path.ts); they cannot replace it
//   (rename needs write access to the folder) nor touch its times.
// - Any change to the content or the inode (write, truncate, chmod, chown,
//   rename over it, utimes itself) sets ctime to the kernel's current time;
//   there is no system call that sets ctime. So a root tool that restores
//   mtime (touch -d, rsync -t, cp -p) still moves ctime; a file replaced by
//   another, even with equal size and times, has another inode.
// - The kernel's file times are coarse (a clock tick, 1-10 ms): a change made
//   in the same tick as the read that was remembered could keep ctime equal.
//   So a read is remembered only when the file's ctime is older than
//   FRESH_MS: any change after it then falls in a later tick.
// - What is left needs root and more than a file tool: setting the system
//   clock back to the remembered ctime while writing (the agent reports clock
//   jumps), or writing the disk under the file system. Root can also stop
//   the agent; the drift check guards against mistakes and users, not root.
// A full read still happens at least every FULL_READ_MS, whatever stat says.
import type { BigIntStats } from 'node:fs';

/** A read is remembered only when the file's ctime is at least this old. */
export const FRESH_MS = 1000;
/** Read in full at least this often even when nothing seems to have changed. */
export const FULL_READ_MS = 3600_000;

export interface StatKey {
  dev: bigint; ino: bigint; size: bigint; mode: bigint; uid: bigint; gid: bigint; nlink: bigint;
  mtimeNs: bigint; ctimeNs: bigint;
}

export interface Memo {
  key: StatKey;
  /** What was wanted when the file was found in sync (another target: read again). */
  want: string;
  /** When the file was last read in full (ms). */
  readAtMs: number;
}

export function statKey(st: BigIntStats): StatKey {
  return { dev: st.dev, ino: st.ino, size: st.size, mode: st.mode, uid: st.uid, gid: st.gid, nlink: st.nlink, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function sameKey(a: StatKey, b: StatKey): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mode === b.mode && a.uid === b.uid
    && a.gid === b.gid && a.nlink === b.nlink && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** True when the file at `st` is the one found in sync for `want` and a read can be skipped. */
export function unchangedSince(memo: Memo | null, st: BigIntStats | null, want: string, nowMs: number): boolean {
  return memo !== null && st !== null && memo.want === want && nowMs - memo.readAtMs < FULL_READ_MS && sameKey(memo.key, statKey(st));
}

/** What to remember after a full read that found the file in sync (null: too fresh to trust its ctime). */
export function remember(st: BigIntStats, want: string, nowMs: number, freshMs = FRESH_MS): Memo | null {
  const ctimeMs = Number(st.ctimeNs / 1_000_000n);
  if (nowMs - ctimeMs < freshMs) return null;
  return { key: statKey(st), want, readAtMs: nowMs };
}
