// File operations of the installer, each one recording how to undo itself so
// that a failed install rolls back to exactly what was there before (old
// program files, old config, old service definition), and a staging root
// (--root DIR) under which every path of the layout is placed.
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Platform } from './layout.ts';

/** Maps a layout path (C:\Program Files\devlic, /opt/devlic) to where it is on this machine. */
export function hostPath(root: string | null, platform: Platform, p: string): string {
  if (!root) return p;
  const rel = platform === 'win32' ? p.replace(/^[A-Za-z]:/, '').replace(/\\/g, '/') : p;
  return join(root, rel);
}

export class Transaction {
  private undos: Array<{ what: string; undo: () => void }> = [];
  private commits: Array<() => void> = [];
  readonly log: (line: string) => void;
  /** Owner for what we create: root when we are root (and not staging for a package as a normal user). */
  private readonly chownRoot: boolean;

  constructor(log: (line: string) => void, chownRoot: boolean) {
    this.log = log;
    this.chownRoot = chownRoot;
  }

  onUndo(what: string, undo: () => void): void {
    this.undos.push({ what, undo });
  }

  onCommit(fn: () => void): void {
    this.commits.push(fn);
  }

  /** Undoes everything done so far, newest first; a failing undo is reported and the rest still run. */
  rollback(): string[] {
    const problems: string[] = [];
    for (const { what, undo } of this.undos.reverse()) {
      try {
        undo();
      } catch (e) {
        problems.push(`could not undo ${what}: ${(e as Error).message}`);
      }
    }
    this.undos = [];
    return problems;
  }

  commit(): void {
    for (const fn of this.commits) {
      try { fn(); } catch { /* leftovers of a backup are harmless */ }
    }
    this.undos = [];
    this.commits = [];
  }

  private own(path: string): void {
    if (this.chownRoot) chownSync(path, 0, 0);
  }

  /**
   * mkdir -p with `mode` for every folder it creates; undo removes them again
   * ('tree': with what was written into the last one since, e.g. the enrolled
   * identity in a data folder this install created). An existing folder keeps
   * its mode unless `tighten` (a data folder left 0755 by hand becomes 0700).
   */
  mkdirs(dir: string, mode: number, opts: { removeOnUndo?: 'tree'; tighten?: boolean } = {}): void {
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
    for (const d of missing) {
      mkdirSync(d, { mode });
      chmodSync(d, mode); // mkdir's mode passes through the umask
      this.own(d);
      const tree = opts.removeOnUndo === 'tree' && d === dir;
      this.onUndo(`create ${d}`, () => (tree ? rmSync(d, { recursive: true, force: true }) : rmdirSync(d)));
    }
    if (!missing.length && opts.tighten) chmodSync(dir, mode);
  }

  /** Replaces `dest` atomically; the previous content is kept until commit and restored on rollback. */
  writeFile(dest: string, content: string | Buffer, mode: number): void {
    const tmp = `${dest}.devlic-new`;
    writeFileSync(tmp, content, { mode });
    this.placeTemp(tmp, dest, mode);
  }

  copyFile(src: string, dest: string, mode: number): void {
    const tmp = `${dest}.devlic-new`;
    copyFileSync(src, tmp);
    this.placeTemp(tmp, dest, mode);
  }

  private placeTemp(tmp: string, dest: string, mode: number): void {
    chmodSync(tmp, mode);
    this.own(tmp);
    const backup = `${dest}.devlic-old`;
    const had = existsSync(dest);
    if (had) {
      rmSync(backup, { force: true });
      renameSync(dest, backup);
    }
    try {
      renameSync(tmp, dest);
    } catch (e) {
      if (had) renameSync(backup, dest);
      rmSync(tmp, { force: true });
      throw e;
    }
    this.onUndo(`write ${dest}`, () => {
      if (had) renameSync(backup, dest);
      else rmSync(dest, { force: true });
    });
    if (had) this.onCommit(() => rmSync(backup, { force: true }));
  }

  /** Points `link` at `target`, replacing an earlier link; refuses to replace a real file. */
  symlink(target: string, link: string): void {
    let previous: string | null = null;
    try {
      const st = lstatSync(link);
      if (!st.isSymbolicLink()) throw new Error(`${link} exists and is not a symlink; remove it or move it aside`);
      previous = readlinkSync(link);
      if (previous === target) return;
      unlinkSync(link);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    symlinkSync(target, link);
    this.onUndo(`link ${link}`, () => {
      unlinkSync(link);
      if (previous !== null) symlinkSync(previous, link);
    });
  }
}

/** Reads a file if it exists. */
export function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** rm -f that reports whether something was removed. */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** rmdir that leaves a non-empty or missing folder alone. */
export function removeDirIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw e;
  }
}
