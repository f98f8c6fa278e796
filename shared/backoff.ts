// The one backoff helper: exponential growth with "full jitter" (a uniformly
// random delay between 0 and the exponential cap), so that thousands of
// agents recovering from an outage spread out instead of arriving together.
// A server's Retry-After is honoured as a lower bound.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly opts: Required<BackoffOptions>;

  constructor(opts: BackoffOptions) {
    this.opts = { random: Math.random, ...opts };
  }

  /** Delay before the next attempt after a failure; grows until reset(). */
  next(retryAfterMs?: number): number {
    const cap = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jittered = Math.floor(this.opts.random() * cap);
    return retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered;
  }

  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
