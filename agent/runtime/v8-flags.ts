// V8 settings for the long-running agent only (`devlic-agent run`), applied
// before the HTTP client is loaded. Kept here rather than in the service
// unit: the single executable ignores Node options from the environment and
// the command line (installer/build/sea.ts), and one-shot commands do not
// live long enough to pay for what this avoids.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it
 * first with its baseline compiler (Liftoff) and, once enough responses have
 * run through it (60-110 s into an idle agent's life: a few long-polls),
 * recompiles the parser with TurboFan on a background thread: ~150 ms of CPU
 * and 13-14 MB of RSS that stays (compiler working memory glibc keeps, and
 * compiler code of the executable paged in), measured in bench/README.md
 * (issue 18). An agent parses a few kilobytes a minute: the baseline code is
 * fast enough, so the optimizing tier is switched off for WebAssembly. It
 * applies to modules compiled from now on, which is why it runs before the
 * client is imported.
 * `--liftoff-only` would say the same but is only honoured on V8's command
 * line (its implications are resolved at start-up); set at run time, V8
 * still tiers up. These two, in this order, are honoured at run time: with
 * dynamic tiering off first, a module compiled in between would go to
 * TurboFan eagerly.
 * `--no-opt --no-maglev`: the same for JavaScript. An idle agent runs a few
 * milliseconds of JavaScript a minute; when some function finally becomes
 * hot enough (after minutes or an hour), Maglev or TurboFan compiles it and
 * their machine code, a few MB of the executable, is paged in for good and
 * their working memory kept by malloc. JavaScript stays on the interpreter
 * and Sparkplug's baseline code (both honoured at run time; checked by
 * test/agent/v8-flags.test.ts). A guard, not a measured saving: in issue 18
 * part 5's hour runs the late step did not come with or without them, and
 * the idle agent's steady CPU was the same.
 */
export const AGENT_V8_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering', '--no-opt', '--no-maglev'] as const;

/** When the start-up's garbage is collected and the heap compacted (after the first sync). */
export const STARTUP_GC_AFTER_MS = 60_000;

export function applyAgentV8Flags(): void {
  for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
  scheduleStartupGc(STARTUP_GC_AFTER_MS);
  forgetUnitMallocTunables(process.env);
}

/**
 * glibc's malloc settings the systemd unit gives the agent
 * (installer/platforms/systemd.ts; Node ignores NODE_OPTIONS in the single
 * executable, but its C library reads this at start): freed memory above
 * 128 KiB goes back to the system instead of staying with the process, large
 * blocks are mapped (and unmapped) on their own, and the agent's few threads
 * share one malloc arena. About 1-2 MB less RSS in an idle agent
 * (bench/README.md, issue 18 part 5).
 */
export const AGENT_MALLOC_TUNABLES = 'glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=1';

/**
 * glibc has read the unit's tunables by the time any JavaScript runs; the
 * hooks and LibreOffice the agent starts should not inherit them (one arena
 * would slow a busy program down). A value an administrator set
 * differently (`systemctl edit`) is theirs and stays.
 */
export function forgetUnitMallocTunables(env: NodeJS.ProcessEnv): void {
  if (env.GLIBC_TUNABLES === AGENT_MALLOC_TUNABLES) delete env.GLIBC_TUNABLES;
}

/**
 * Start-up (loading the bundle's modules, the first sync) leaves the heap
 * larger than an idle agent needs, and V8 shrinks it only under pressure
 * that never comes. One full, memory-reducing collection once start-up is
 * over gives the pages back. `gc` is taken from a throwaway context (the
 * flag only adds it to contexts created while it is set), so no code of
 * the agent's own realm ever sees a global `gc`.
 */
export function scheduleStartupGc(afterMs: number): NodeJS.Timeout {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (o: object) => void;
  setFlagsFromString('--no-expose-gc');
  const t = setTimeout(() => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }), afterMs);
  t.unref();
  return t;
}
