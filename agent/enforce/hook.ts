// The `hook` enforcer: runs an executable the administrator configured, with
// DEVLIC_MODE, DEVLIC_REASON and DEVLIC_USERS in its environment, so any app
// devlic does not know can be switched by a site script. The agent runs as
// root, so the hook must be a file only root (or the agent's own user) can
// change; it runs without a shell, with a minimal environment and a timeout.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import Type from 'typebox';
import type { ApplyResult, CheckResult, EnforcementTarget, Enforcer, VerifyResult } from './types.ts';
import { errorText, readIfExists, writeSafeFile } from '../host/fsutil.ts';
import { describeFailure, minimalEnv, runFile } from '../../shared/run.ts';
import { UnsafePathError, walkSafe } from '../host/safe-path.ts';
import { absPath, defineEnforcer, TimeoutMs } from './descriptor.ts';
import { sortedUserModes } from './drift.ts';

export const HookConfig = Type.Object({
  name: Type.Literal('hook'),
  /** Absolute path of the executable. */
  path: absPath('a script path'),
  args: Type.Optional(Type.Array(Type.String({ maxLength: 1024, pattern: '^[^\\u0000]*$' }), { maxItems: 32 })),
  timeoutMs: Type.Optional(TimeoutMs),
}, { additionalProperties: false });
export type HookConfig = Type.Static<typeof HookConfig>;

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Throws unless `path` is safe to run as root: absolute, a regular
 * executable file, and neither it nor any directory or symlink on the way to
 * it can be changed by anyone but root (or the agent's own user): the rule
 * in host/safe-path.ts (owner root or us; not writable by others or by a group
 * other than gid 0, sticky directories excepted). POSIX only: on Windows,
 * ACLs decide and the installer puts hooks under Program Files.
 */
export async function assertSafeExecutable(path: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  if (!isAbsolute(path)) throw new Error(`hook path must be absolute: ${path}`);
  if (platform === 'win32') {
    if (!(await fsp.stat(path)).isFile()) throw new Error(`hook is not a regular file: ${path}`);
    return;
  }
  let r;
  try {
    r = await walkSafe(path, { checkLeaf: true, platform });
  } catch (e) {
    if (e instanceof UnsafePathError) throw e.for(`hook ${path}`);
    throw e;
  }
  if (!r.leaf?.isFile()) throw new Error(`hook is not a regular file: ${r.real}`);
  if ((r.leaf.mode & 0o111) === 0) throw new Error(`hook is not executable: ${r.real}`);
}

export function createHookEnforcer(
  config: HookConfig,
  ctx: { dataDir: string; platform: NodeJS.Platform; log?: (event: string, fields: object) => void },
): Enforcer {
  const name = 'hook';
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const args = config.args ?? [];
  // The last target the hook accepted, kept across restarts so an unchanged
  // target does not rerun the hook (idempotence as seen by the agent).
  const id = createHash('sha256').update(JSON.stringify([config.path, args])).digest('hex').slice(0, 12);
  const statePath = join(ctx.dataDir, `hook-${id}.json`);

  const keyOf = (target: EnforcementTarget) => {
    const userModes = sortedUserModes(target);
    return JSON.stringify({ mode: target.mode, reason: target.reason, users: [...new Set(target.users)].sort(), ...(userModes ? { userModes } : {}) });
  };

  return {
    name,
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      const users = [...new Set(target.users)].sort();
      const key = keyOf(target);
      const detail: Record<string, unknown> = { path: config.path };
      let ranBefore = false;
      try {
        ranBefore = (await readIfExists(statePath))?.trim() === key;
        // Checked on every call, also when the hook already ran for this
        // target: a hook (or a directory above it) that became writable by
        // someone else since is reported now, not at the next mode change.
        await assertSafeExecutable(config.path, ctx.platform);
      } catch (e) {
        if (e instanceof UnsafePathError) detail.code = e.code;
        const applied = ranBefore ? `${target.mode}: hook ran earlier for this target; now refused, not run again` : 'unknown: hook not run';
        return { enforcer: name, ok: false, changed: false, applied, detail, error: errorText(e) };
      }
      if (ranBefore) {
        return { enforcer: name, ok: true, changed: false, applied: `${target.mode}: hook already ran for this target`, detail };
      }
      const env = minimalEnv({
        DEVLIC_MODE: target.mode,
        DEVLIC_REASON: target.reason,
        // Comma-separated; user names with commas are not expected on the platforms we support.
        DEVLIC_USERS: users.join(','),
        // Per-user licences (issue 16): "alice@contoso=full:user,bob=read-only:" (user=mode:licence; normalised
        // sign-in names hold no ',', '=' or ':'); DEVLIC_MODE is then the per-machine mode.
        ...(target.userModes ? { DEVLIC_USER_MODES: (sortedUserModes(target) ?? []).map((u) => `${u.user}=${u.mode}:${u.licence ?? ''}`).join(',') } : {}),
      });
      const r = await runFile(config.path, args, { timeoutMs, env, maxOutput: 4096 });
      Object.assign(detail, { exitCode: r.code, ms: r.ms, stdout: r.stdout.trim().slice(-1000), stderr: r.stderr.trim().slice(-1000) });
      ctx.log?.('enforce.hook', { path: config.path, mode: target.mode, exitCode: r.code, timedOut: r.timedOut, ms: r.ms });
      if (r.code !== 0 || r.timedOut) {
        // A hook that started may have done part of its work: say so.
        return { enforcer: name, ok: false, changed: !r.spawnError, applied: `unknown: hook failed for ${target.mode}`, detail, error: describeFailure(`hook ${config.path}`, r, timeoutMs) };
      }
      try {
        await writeSafeFile(statePath, key + '\n', 0o600);
      } catch (e) {
        ctx.log?.('enforce.hook.state', { error: errorText(e) });
      }
      return { enforcer: name, ok: true, changed: true, applied: `${target.mode}: hook ran`, detail };
    },

    // What the hook switched cannot be read back (it is the site's); the
    // record of its last successful run is: deleted or changed, the hook runs
    // again (hooks must be idempotent, as apply() already assumes).
    async verify(target: EnforcementTarget): Promise<VerifyResult> {
      try {
        return { enforcer: name, drift: hookDrift(await readIfExists(statePath), keyOf(target)) };
      } catch (e) {
        return { enforcer: name, drift: [`hook state unreadable: ${errorText(e)}`] };
      }
    },

    async check(): Promise<CheckResult> {
      try {
        await assertSafeExecutable(config.path, ctx.platform);
        return { enforcer: name, ok: true, message: `hook ${config.path} is safe to run (timeout ${timeoutMs} ms)` };
      } catch (e) {
        return { enforcer: name, ok: false, message: errorText(e) };
      }
    },
  };
}

/** The hook's state file against the key of the wanted target. */
export function hookDrift(stateText: string | undefined, key: string): string[] {
  if (stateText === undefined) return ['no record of the hook running for this mode'];
  return stateText.trim() === key ? [] : ['the hook last ran for another mode'];
}

export const hookEnforcer = defineEnforcer({
  name: 'hook',
  schema: HookConfig,
  create: (cfg, ctx) => createHookEnforcer(cfg, ctx),
  // Writes only its state file in the data folder; what the hook itself writes is the site's to allow.
  writablePaths: () => [],
});
