// The `file` enforcer: writes the mode as JSON ({mode, reason, users,
// userModes, at}) for anything on the device that wants to follow it (login
// scripts, kiosk shells, tests). Default path <dataDir>/app-mode.json, mode
// 0644. With per-user licences (issue 16) `userModes` holds one entry per
// signed-in person ({user, mode, licence, reason}) and `mode` is the
// per-machine mode: a login script follows its own person's entry.
// Readers trust this file, so the path must be one only root can change:
// no directory or symlink on the way that a non-root user or group could
// change (see host/safe-path.ts); an existing file that is not root's own, or a
// symlink or FIFO at the target, is replaced, never followed.
import { lstatSync, promises as fsp, type BigIntStats } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import Type from 'typebox';
import type { ApplyResult, CheckResult, EnforcementTarget, Enforcer, UserMode, VerifyResult } from './types.ts';
import { modeFileDrift, observeFile, sortedUserModes } from './drift.ts';
import { errorText, readRegular, writeSafeFile } from '../host/fsutil.ts';
import { assertSafeDir, UnsafePathError } from '../host/safe-path.ts';
import { AbsPath, defineEnforcer } from './descriptor.ts';
import { remember, unchangedSince, type Memo } from './stat-memo.ts';

export const FileConfig = Type.Object({
  name: Type.Literal('file'),
  /** Absolute path; default <dataDir>/app-mode.json. */
  path: Type.Optional(AbsPath),
}, { additionalProperties: false });
export type FileConfig = Type.Static<typeof FileConfig>;

/** Readable by everyone: login scripts and kiosk shells run as the user. */
const FILE_MODE = 0o644;

export interface AppModeFile {
  mode: EnforcementTarget['mode'];
  reason: string;
  users: string[];
  /** Each signed-in person's own mode, sorted by user (absent: decided for the device alone). */
  userModes?: UserMode[];
  /** When this content was first written (kept while the content is unchanged). */
  at: string;
}

export function createFileEnforcer(
  config: FileConfig,
  ctx: { dataDir: string; now?: () => Date; /** Tests only: stat-memo.ts FRESH_MS. */ freshMs?: number },
): Enforcer {
  const name = 'file';
  const path = config.path ?? join(ctx.dataDir, 'app-mode.json');
  const now = ctx.now ?? (() => new Date());
  // The last verify's read that found the file in sync (stat-memo.ts: why a stat cannot hide a change).
  let memo: Memo | null = null;

  return {
    name,
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      // Sorted so the same set of users in another order is not a change.
      const users = [...new Set(target.users)].sort();
      const detail: Record<string, unknown> = { path };
      try {
        // Before anything is read or created: a recursive mkdir would
        // follow a planted symlink. Missing directories are made one by one
        // and checked as they are (a name planted meanwhile is refused).
        const { real } = await assertSafeDir(dirname(path), { create: 0o755 });
        const cur = observeFile(await readRegular(join(real, basename(path))));
        // A file someone else owns is not ours even with the right content: they could change it later.
        const userModes = sortedUserModes(target);
        if (modeFileDrift(cur, { mode: target.mode, reason: target.reason, users, ...(userModes ? { userModes } : {}) }, FILE_MODE, myUid()).length === 0) {
          return { enforcer: name, ok: true, changed: false, applied: `${target.mode} written to ${path}`, detail };
        }
        const doc: AppModeFile = { mode: target.mode, reason: target.reason, users, ...(userModes ? { userModes } : {}), at: now().toISOString() };
        await writeSafeFile(path, JSON.stringify(doc, null, 2) + '\n', FILE_MODE, (w) => { JSON.parse(w); });
        return { enforcer: name, ok: true, changed: true, applied: `${target.mode} written to ${path}`, detail };
      } catch (e) {
        if (e instanceof UnsafePathError) {
          detail.code = e.code;
          return { enforcer: name, ok: false, changed: false, applied: `nothing: refused to write ${path}`, detail, error: e.for(`to write ${path}`).message };
        }
        return { enforcer: name, ok: false, changed: false, applied: `unknown: could not write ${path}`, detail, error: errorText(e) };
      }
    },

    async verify(target: EnforcementTarget): Promise<VerifyResult> {
      const users = [...new Set(target.users)].sort();
      const userModes = sortedUserModes(target);
      const want = { mode: target.mode, reason: target.reason, users, ...(userModes ? { userModes } : {}) };
      const wantKey = JSON.stringify(want);
      // Taken before the read: a change between the two makes the next stat differ (never the other way round).
      const st = lstatOrNull(path);
      const nowMs = Date.now();
      if (unchangedSince(memo, st, wantKey, nowMs)) return { enforcer: name, drift: [], unchanged: true };
      memo = null;
      try {
        // The path is read without following a symlink at it; an unsafe
        // folder on the way is apply()'s to refuse and report.
        const cur = observeFile(await readRegular(path));
        const drift = modeFileDrift(cur, want, FILE_MODE, myUid());
        if (drift.length === 0 && st) memo = remember(st, wantKey, nowMs, ctx.freshMs);
        return { enforcer: name, drift };
      } catch (e) {
        return { enforcer: name, drift: [`mode file unreadable: ${errorText(e)}`] };
      }
    },

    async check(): Promise<CheckResult> {
      try {
        await assertSafeDir(dirname(path), { missingOk: true });
      } catch (e) {
        if (e instanceof UnsafePathError) return { enforcer: name, ok: false, message: e.for(`to write ${path}`).message };
        // Other errors (not a directory...) are reported by the walk below.
      }
      // Can we create a file in the target directory (or its nearest existing parent)?
      let dir = dirname(path);
      for (;;) {
        try {
          if (!(await fsp.stat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
          await fsp.access(dir, fsp.constants.W_OK);
          // Said as it is when the folder is missing (e.g. the data dir before enrolling):
          // "can write" beside "data-dir does not exist" reads as a contradiction.
          return { enforcer: name, ok: true, message: dir === dirname(path) ? `can write ${path}`
            : `${dirname(path)} does not exist yet; it can be created (${dir} is writable) when the agent first writes ${basename(path)}` };
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' || dirname(dir) === dir) {
            return { enforcer: name, ok: false, message: `cannot write ${path}: ${errorText(e)}` };
          }
          dir = dirname(dir);
        }
      }
    },
  };
}

/** The path's own stat (a symlink's, not its target's), or null when it cannot be had (the read then says why). */
function lstatOrNull(path: string): BigIntStats | null {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return null;
  }
}

/** The agent's uid, whose files count as its own; undefined on Windows (no uids). */
function myUid(): number | undefined {
  return process.platform === 'win32' ? undefined : process.getuid?.();
}

export const fileEnforcer = defineEnforcer({
  name: 'file',
  schema: FileConfig,
  create: (cfg, ctx) => createFileEnforcer(cfg, ctx),
  // The default file is in the data folder, which is writable anyway.
  writablePaths: (cfg) => (cfg.path ? [posix.dirname(cfg.path)] : []),
});

