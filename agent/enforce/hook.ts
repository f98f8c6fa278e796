// The `hook` enforcer: runs an executable the administrator configured, with
// DEVLIC_MODE, DEVLIC_REASON and DEVLIC_USERS in its environment, so any app
// devlic does not know can be switched by a site script. The agent runs as
// root, so the hook must be a file only root (or the agent's own user) can
// change; it runs without a shell, with a minimal environment and a timeout.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ApplyResult, CheckResult, EnforcementTarget, Enforcer } from './types.ts';
import { errorText, readIfExists, writeFileAtomic } from './fsutil.ts';
import { describeFailure, minimalEnv, runFile } from './run.ts';

export interface HookConfig {
  name: 'hook';
  /** Absolute path of the executable. */
  path: string;
  args?: string[];
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Throws unless `path` is safe to run as root: absolute, a regular
 * executable file, not writable by others, owned by root or by us, and in
 * no directory that others could use to swap it (world-writable without
 * the sticky bit, or owned by another user). POSIX only: on Windows, ACLs
 * decide and the installer puts hooks under Program Files.
 */
export async function assertSafeExecutable(path: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  if (!isAbsolute(path)) throw new Error(`hook path must be absolute: ${path}`);
  const real = await fsp.realpath(path);
  const st = await fsp.stat(real);
  if (!st.isFile()) throw new Error(`hook is not a regular file: ${real}`);
  if (platform === 'win32') return;
  const me = process.getuid?.() ?? 0;
  const trusted = (uid: number) => uid === 0 || uid === me;
  if (st.mode & 0o002) throw new Error(`refusing world-writable hook ${real}`);
  if (!trusted(st.uid)) throw new Error(`refusing hook ${real}: owned by uid ${st.uid}, not root`);
  if ((st.mode & 0o111) === 0) throw new Error(`hook is not executable: ${real}`);
  // Every directory above the configured path and above the real file.
  const dirs = new Set<string>();
  for (const start of [dirname(path), dirname(real)]) {
    for (let d = start; ; d = dirname(d)) {
      dirs.add(d);
      if (dirname(d) === d) break;
    }
  }
  for (const d of dirs) {
    const ds = await fsp.stat(d);
    if ((ds.mode & 0o002) && !(ds.mode & 0o1000)) throw new Error(`refusing hook ${real}: ${d} is world-writable`);
    if (!trusted(ds.uid)) throw new Error(`refusing hook ${real}: ${d} is owned by uid ${ds.uid}, not root`);
  }
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

  return {
    name,
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      const users = [...new Set(target.users)].sort();
      const key = JSON.stringify({ mode: target.mode, reason: target.reason, users });
      const detail: Record<string, unknown> = { path: config.path };
      try {
        if ((await readIfExists(statePath))?.trim() === key) {
          return { enforcer: name, ok: true, changed: false, applied: `${target.mode}: hook already ran for this target`, detail };
        }
        await assertSafeExecutable(config.path, ctx.platform);
      } catch (e) {
        return { enforcer: name, ok: false, changed: false, applied: 'unknown: hook not run', detail, error: errorText(e) };
      }
      const env = minimalEnv({
        DEVLIC_MODE: target.mode,
        DEVLIC_REASON: target.reason,
        // Comma-separated; user names with commas are not expected on the platforms we support.
        DEVLIC_USERS: users.join(','),
      });
      const r = await runFile(config.path, args, { timeoutMs, env, maxOutput: 4096 });
      Object.assign(detail, { exitCode: r.code, ms: r.ms, stdout: r.stdout.trim().slice(-1000), stderr: r.stderr.trim().slice(-1000) });
      ctx.log?.('enforce.hook', { path: config.path, mode: target.mode, exitCode: r.code, timedOut: r.timedOut, ms: r.ms });
      if (r.code !== 0 || r.timedOut) {
        // A hook that started may have done part of its work: say so.
        return { enforcer: name, ok: false, changed: !r.spawnError, applied: `unknown: hook failed for ${target.mode}`, detail, error: describeFailure(`hook ${config.path}`, r, timeoutMs) };
      }
      try {
        await writeFileAtomic(statePath, key + '\n', 0o600);
      } catch (e) {
        ctx.log?.('enforce.hook.state', { error: errorText(e) });
      }
      return { enforcer: name, ok: true, changed: true, applied: `${target.mode}: hook ran`, detail };
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
