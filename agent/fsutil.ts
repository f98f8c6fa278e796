// Small file-system helpers for a program that runs as root: private
// directories, atomic 0600 writes, and refusing to read trust-relevant files
// (config, CA, test hooks) from places other users could have written to.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, chmodSync, writeSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { AgentError } from './errors.ts';

const isWindows = process.platform === 'win32';

/** Creates `dir` (0700) if missing and tightens it to 0700 if it exists. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new AgentError(`${dir} exists and is not a directory`, 'remove it or choose another --data-dir');
  if (isWindows) return;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new AgentError(`data directory ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid})`, 'fix its owner or choose another --data-dir');
  }
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/**
 * Writes a file atomically (temp file, fsync, rename) so that a crash leaves
 * either the old or the new content, never a torn file.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // openSync's mode is filtered by the umask; set it exactly.
  if (!isWindows) chmodSync(tmp, mode);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  if (!isWindows) {
    try {
      const dfd = openSync(dirname(path), 'r');
      try { fsyncSync(dfd); } finally { closeSync(dfd); }
    } catch { /* some file systems cannot fsync a directory; the rename is still atomic */ }
  }
}

/**
 * Throws unless `path` is owned by root or by us and not writable by group or
 * others. Used for files whose content decides what the root agent trusts or
 * runs, so an unprivileged user cannot plant them.
 */
export function assertTrustedFile(path: string, what: string): void {
  if (isWindows) return;
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new AgentError(`cannot read ${what} ${path}: ${(e as Error).message}`, 'check the path');
  }
  const uid = process.getuid?.();
  if (st.uid !== 0 && st.uid !== uid) {
    throw new AgentError(`${what} ${path} is owned by uid ${st.uid}; refusing to trust it`, `make it owned by root (chown root ${path})`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new AgentError(`${what} ${path} is writable by other users; refusing to trust it`, `run: chmod go-w ${path}`);
  }
}

/** Mode bits of a file, or null when it does not exist. */
export function fileMode(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}
