// File helpers shared by the enforcers. The agent runs as root and some of
// the files it writes are read by other programs at any moment (LibreOffice
// aborts on a half-written layer), so a file is only ever replaced whole:
// temp file in the same directory, fsync, rename, fsync of the directory.
// Every write or removal first checks (safe-path.ts) that no one but root
// can change the directory or anything on the way to it (symlinks included)
// and then works in the resolved directory; the last component is never
// followed (the temp file is created exclusively, rename replaces a link
// instead of writing through it, reads open with O_NOFOLLOW).
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fsp, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { assertSafeDir, UnsafePathError } from './safe-path.ts';

/** Suffix of our temp files; never `.xcd`, so LibreOffice never loads one. */
export const TEMP_SUFFIX = '.devlic-tmp';

/**
 * Writes `data` to `path` atomically with exactly `mode` (umask does not
 * apply). `verify` runs on the finished temp file's bytes before the rename,
 * so a file that fails validation never becomes visible.
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  mode: number,
  verify?: (written: string) => void,
): Promise<void> {
  const dir = await safeDir(dirname(path), `to write ${path}`);
  const final = join(dir, basename(path));
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  // 'wx': never follow or reuse something an attacker placed at the temp name.
  const fh = await fsp.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.chmod(mode);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    if (verify) verify(await fsp.readFile(tmp, 'utf8'));
    await fsp.rename(tmp, final);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

/** Removes `path` if present; returns whether something was removed. */
export async function removeFile(path: string): Promise<boolean> {
  const dir = await safeDir(dirname(path), `to remove ${path}`);
  try {
    await fsp.unlink(join(dir, basename(path)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  await syncDir(dir);
  return true;
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

// Makes a rename or unlink durable; directories cannot be opened on Windows.
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The resolved `dir` once it is safe (see the header). */
async function safeDir(dir: string, what: string): Promise<string> {
  try {
    return (await assertSafeDir(dir)).real;
  } catch (e) {
    throw e instanceof UnsafePathError ? e.for(what) : e;
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
