// V8 settings for the long-running agent only (`devlic-agent run`), applied
// before the HTTP client is loaded. Kept here rather than in the service
// unit: the single executable ignores Node options from the environment and
// the command line (installer/build/sea.ts), and one-shot commands do not
// live long enough to pay for what this avoids.
import { setFlagsFromString } from 'node:v8';

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
 */
export const AGENT_V8_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'] as const;

export function applyAgentV8Flags(): void {
  for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
}
