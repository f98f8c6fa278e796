// What /healthz answers: 200 while this replica can reach its database, 503
// with a short reason when it cannot, so a load balancer (HAProxy's
// `option httpchk GET /healthz`) takes a replica that lost PostgreSQL out.
// The database is asked at most once per interval however many checks come
// in (one probe in flight, its answer cached), so a flood of health checks or
// long-polls never turns into a flood of queries; a probe that hangs (a
// half-open network) counts as a failure after timeoutMs.

export type Health = { ok: true } | { ok: false; reason: string };

export interface HealthCheckOptions {
  /** One cheap round trip to the database; throws when it cannot be made. */
  probe: () => Promise<unknown>;
  /** A cached answer is reused for this long (ms). */
  intervalMs?: number;
  /** A probe still running after this long (ms) is a failure. */
  timeoutMs?: number;
  now?: () => number;
}

// HAProxy's `timeout check` is 2 s: a hung database must be reported as 503 before that.
const DEFAULT_TIMEOUT_MS = 1_500;
const DEFAULT_INTERVAL_MS = 1_000;

/** The reason text: the driver's own words can carry a host name or user, so only its error code goes out. */
function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? `database unreachable (${code})` : 'database unreachable';
}

export function createHealthCheck(opts: HealthCheckOptions): () => Promise<Health> {
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = opts.now ?? Date.now;
  let cached: { at: number; health: Health } | undefined;
  let inFlight: Promise<Health> | undefined;

  // The probe itself, while it runs: a hung one is waited on again, never piled up behind.
  let running: Promise<Health> | undefined;

  const probeOnce = async (): Promise<Health> => {
    running ??= opts.probe().then((): Health => ({ ok: true }), (err): Health => ({ ok: false, reason: reasonOf(err) }))
      .finally(() => { running = undefined; });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Health>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, reason: `database did not answer within ${timeoutMs} ms` }), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([running, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };

  return () => {
    if (cached && now() - cached.at < intervalMs) return Promise.resolve(cached.health);
    inFlight ??= probeOnce().then((health) => {
      cached = { at: now(), health };
      inFlight = undefined;
      return health;
    });
    return inFlight;
  };
}
