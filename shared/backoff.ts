// The one backoff helper: exponential growth with "full jitter" (a uniformly
// random delay between 0 and the exponential cap), so that thousands of
// agents recovering from an outage spread out instead of arriving together.
// A server's Retry-After is honoured as a lower bound.

/** setTimeout's largest delay: a longer one fires at once (with a TimeoutOverflowWarning). */
export const MAX_DELAY_MS = 2 ** 31 - 1;

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
    return this.delay(this.attempt++, retryAfterMs);
  }

  /** The delay after `attempt` failures, for a caller that keeps the count itself (the poll state machine). */
  delay(attempt: number, retryAfterMs?: number): number {
    const cap = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(attempt, 30));
    const jittered = Math.floor(this.opts.random() * cap);
    return Math.min(MAX_DELAY_MS, retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered);
  }

  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

// The three HTTP-date forms (RFC 9110 5.6.7): IMF-fixdate, RFC 850 and asctime (which has no zone: GMT).
// Checked first because Date.parse also accepts junk such as "1.5" or "Mon x 5" as some date in 2001.
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? [\w -]+ \d{2}:\d{2}:\d{2}( GMT| \d{4})$/;

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!HTTP_DATE.test(v)) return undefined;
  const at = Date.parse(v.endsWith('GMT') ? v : `${v} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
