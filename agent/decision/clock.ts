// Where the agent gets "now". Production reads the system clock. Tests need to
// jump days ahead (offline expiry) or turn the clock back without sleeping, so
// there is one test hook:
//
//   DEVLIC_FAKE_NOW_FILE=/path/to/file
//
// The file holds either an ISO-8601 instant (the clock is frozen there) or an
// offset such as "+90d", "-3600s", "+2h" (real time shifted by that much). It
// is re-read on every call, so a test can move time while the agent runs.
//
// The hook exists only when the agent runs from source (tests, development):
// the release executables are built without it, name and all (see
// agent/release-build.d.ts). It is read only from the environment of the
// agent process itself (the root
// service's unit file / the test harness), never from the config file, and the
// file must be owned by root or the agent's user and not writable by others
// (assertTrustedFile), so an unprivileged user cannot move the agent's clock.
import { readFileSync } from 'node:fs';
import { assertTrustedFile } from '../host/fsutil.ts';
import { AgentError } from '../errors.ts';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** True when a test hook drives this clock (shown by status/doctor). */
  readonly fake: boolean;
}

export const systemClock: Clock = { now: () => Date.now(), fake: false };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses the fake-now file's content into a function of real time. */
export function parseFakeNow(text: string): (realMs: number) => number {
  const t = text.trim();
  const off = t.match(/^([+-])(\d+(?:\.\d+)?)(ms|s|m|h|d)$/);
  if (off) {
    const delta = Number(off[2]) * UNIT_MS[off[3]] * (off[1] === '-' ? -1 : 1);
    return (real) => real + delta;
  }
  if (t === '' || t === '+0' || t === '0') return (real) => real;
  const at = Date.parse(t);
  if (Number.isNaN(at)) throw new AgentError(`fake time '${t}' is neither an ISO time nor an offset like +90d`);
  return () => at;
}

function fakeClock(path: string): Clock {
  assertTrustedFile(path, 'DEVLIC_FAKE_NOW_FILE');
  return {
    fake: true,
    now() {
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        // The test removed the file: real time.
      }
      try {
        return parseFakeNow(text)(Date.now());
      } catch {
        return Date.now();
      }
    },
  };
}

/** The clock for this process: the system clock unless the test hook is set. */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  // Source runs only: compiled out of release executables (release-build.d.ts).
  if (typeof DEVLIC_RELEASE_BUILD === 'undefined') {
    const path = env.DEVLIC_FAKE_NOW_FILE;
    if (path) return fakeClock(path);
  }
  return systemClock;
}

/** Wall-clock changes beyond this, not explained by elapsed (monotonic) time, count as a jump. */
export const JUMP_THRESHOLD_MS = 60_000;

/**
 * Notices the agent's clock being set forward or back while it runs, by
 * comparing how far the wall clock moved with how far the monotonic clock
 * moved. Used only to ask the service for its time at once, never to compute
 * time: the monotonic clock stops during suspend, and a suspended laptop's
 * offline days must still count. A clock moved back while offline, or while
 * the agent was stopped, is caught by the persisted observed mark
 * (observed-time.ts), not by this in-memory detector.
 */
export class JumpDetector {
  private last: { wallMs: number; monoMs: number } | null = null;

  /** The jump (ms, positive = forward) since the previous call, or null. */
  observe(wallMs: number, monoMs: number): number | null {
    const prev = this.last;
    this.last = { wallMs, monoMs };
    if (!prev) return null;
    const jump = (wallMs - prev.wallMs) - (monoMs - prev.monoMs);
    return Math.abs(jump) > JUMP_THRESHOLD_MS ? jump : null;
  }
}
