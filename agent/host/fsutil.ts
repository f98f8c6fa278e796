// The agent's file-system helpers (it runs as root): private directories,
// atomic writes, refusing to read trust-relevant files (config, CA, test
// hooks) from places other users could have written to, and the enforcers'
// writes into directories other programs read from.
//
// A file is only ever replaced whole (LibreOffice aborts on a half-written
// layer; a crash must leave the old or the new identity, never a torn one):
// temp file created exclusively in the same directory, exact mode, fsync,
// optional verification, rename, fsync of the directory. The enforcers'
// variants (writeSafeFile, removeFile, removeStaleTemps) first check
// (safe-path.ts) that no one but root can change the directory or anything
// on the way to it (symlinks included) and then work in the resolved
// directory; the last component is never followed (the temp file is created
// exclusively, rename replaces a link instead of writing through it, reads
// open with O_NOFOLLOW).
import { randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, constants as fsc, fchmodSync, fsyncSync, mkdirSync, openSync, promises as fsp, readFileSync,
  renameSync, rmSync, statSync, writeFileSync, type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AgentError } from '../errors.ts';
import { assertSafeDir, UnsafePathError } from './safe-path.ts';

const isWindows = process.platform === 'win32';

/** Suffix of our temp files; never `.xcd`, so LibreOffice never loads one. */
export const TEMP_SUFFIX = '.devlic-tmp';

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
 * Writes `data` to `path` atomically with exactly `mode` (umask does not
 * apply). `verify` runs on the finished temp file's text before the rename,
 * so a file that fails validation never becomes visible. For the agent's own
 * data directory (already private); writes elsewhere go through writeSafeFile.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, verify?: (written: string) => void): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  // 'wx': never follow or reuse something an attacker placed at the temp name.
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeFileSync(fd, data);
    if (!isWindows) fchmodSync(fd, mode);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    if (verify) verify(readFileSync(tmp, 'utf8'));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dir);
}

/** writeFileAtomic into a directory only root can change (see the header); `path`'s directory is resolved first. */
export async function writeSafeFile(path: string, data: string, mode: number, verify?: (written: string) => void): Promise<void> {
  const dir = await safeDir(dirname(path), `to write ${path}`);
  writeFileAtomic(join(dir, basename(path)), data, mode, verify);
}

/** Removes `path` if present (its directory checked like writeSafeFile's); returns whether something was removed. */
export async function removeFile(path: string): Promise<boolean> {
  const dir = await safeDir(dirname(path), `to remove ${path}`);
  try {
    await fsp.unlink(join(dir, basename(path)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  syncDir(dir);
  return true;
}

/** Removes temp files a crash may have left beside `path`. */
export async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  let dir: string;
  try {
    dir = await safeDir(dirname(path), `to clean up beside ${path}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(prefix) && n.endsWith(TEMP_SUFFIX)) await fsp.rm(join(dir, n), { force: true });
  }
}

/** Reads a text file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The regular file at `path` (never following a symlink there, never
 * blocking on a FIFO), with its lstat; undefined when nothing is there. A
 * symlink or other non-file comes back as `{ text: undefined }` with its
 * stat, so a writer treats it as "different" and replaces it by rename.
 */
export async function readRegular(path: string): Promise<{ text?: string; st: Stats } | undefined> {
  let fh;
  try {
    fh = await fsp.open(path, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'ENXIO') return { st: await fsp.lstat(path) };
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { st };
    return { text: await fh.readFile('utf8'), st };
  } finally {
    await fh.close();
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

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// Makes a rename or unlink durable. Directories cannot be opened on Windows,
// and some file systems cannot fsync one; the rename is atomic all the same.
function syncDir(dir: string): void {
  if (isWindows) return;
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* see above */ }
}

/** The resolved `dir` once it is safe (see the header). */
async function safeDir(dir: string, what: string): Promise<string> {
  try {
    return (await assertSafeDir(dir)).real;
  } catch (e) {
    throw e instanceof UnsafePathError ? e.for(what) : e;
  }
}
