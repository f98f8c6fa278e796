// Stands in for the 'better-sqlite3' package inside the single executables,
// and only there: installer/build/bundle.ts points the package name at this
// file when it bundles, so product code keeps its plain
// `import Database from 'better-sqlite3'` and needs no SEA-specific branch.
//
// Why it is needed: a native addon cannot be loaded from inside the SEA blob,
// and the blob's own require() loads built-in modules only. So the addon ships
// beside the executable (better_sqlite3.node in the root-owned program folder)
// and every Database gets it as `nativeBinding`, loaded here with a require
// rooted at the executable. Never from a temp folder, and never from a folder
// or file other users could have replaced.
import Real from 'better-sqlite3';
import { createRequire } from 'node:module';
import { lstatSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ADDON_FILE = 'better_sqlite3.node';

/** Where the addon must be: beside the running executable (symlinks resolved: Node's execPath is already real). */
export function addonPath(execPath: string = process.execPath): string {
  return join(dirname(realpathSync(execPath)), ADDON_FILE);
}

/**
 * Refuses an addon that someone other than root or us could have written:
 * a world-writable file or folder, one writable by a group other than root's
 * or ours, or one owned by another user.
 * Loading it would run that person's code with our (often root's) rights.
 */
export function assertSafeToLoad(file: string, uid: number | undefined = process.getuid?.()): void {
  if (process.platform === 'win32') return; // Program Files' ACL protects it; POSIX modes mean nothing there
  for (const [path, what] of [[file, 'file'], [dirname(file), 'folder']] as const) {
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      throw new Error(`SQLite addon ${file} is missing (${(e as NodeJS.ErrnoException).code}): it must be installed beside the executable`);
    }
    if (what === 'file' && !st.isFile()) throw new Error(`SQLite addon ${file} is not a regular file`);
    // Group-writable is fine only for root's group or our own (user private groups, umask 002).
    const groupOk = st.gid === 0 || st.gid === process.getgid?.();
    if ((st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && !groupOk)) {
      throw new Error(`refusing to load the SQLite addon: its ${what} ${path} is writable by other users (mode ${(st.mode & 0o777).toString(8)}); make it 0755 / 0644`);
    }
    if (uid !== undefined && st.uid !== 0 && st.uid !== uid) {
      throw new Error(`refusing to load the SQLite addon: its ${what} ${path} belongs to uid ${st.uid}, not to root or this user`);
    }
  }
}

const loaded = new Map<string, object>();

/** Loads (once per path) the addon after the ownership/permission check. */
export function loadAddon(file: string = addonPath()): object {
  let addon = loaded.get(file);
  if (!addon) {
    assertSafeToLoad(file);
    addon = createRequire(process.execPath)(file) as object;
    loaded.set(file, addon);
  }
  return addon;
}

type Options = NonNullable<ConstructorParameters<typeof Real>[1]>;

// A constructor that returns the real Database, so `instanceof` and every
// method work unchanged. An explicit nativeBinding path is honoured, but goes
// through the same check and loader (the blob's require could not load it).
const SeaDatabase = function (filename?: string | Buffer, options?: Options) {
  const opts = options ?? {};
  const given = (opts as { nativeBinding?: unknown }).nativeBinding;
  const nativeBinding = typeof given === 'object' && given !== null ? given : loadAddon(typeof given === 'string' ? given : addonPath());
  return new Real(filename, { ...opts, nativeBinding } as unknown as Options);
} as unknown as typeof Real;
SeaDatabase.prototype = Real.prototype;
(SeaDatabase as unknown as { SqliteError: unknown }).SqliteError = (Real as unknown as { SqliteError: unknown }).SqliteError;

export default SeaDatabase;
