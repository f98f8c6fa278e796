// The `workers` setting (several replica processes on one host sharing one
// port, issue 12) as pure logic: reading the flag and the environment
// variable, the rule that it needs PostgreSQL, how a host's cores are shared
// out for signing, the restart delay of a worker that died, and the messages
// the cluster primary and its workers exchange. The processes themselves are
// in cluster-primary.ts and cluster-worker.ts.
import { UsageError } from '../shared/cli.ts';
import { Backoff } from '../shared/backoff.ts';
import { DevlicError } from '../shared/errors.ts';

/**
 * Most workers on one host. Each costs a PostgreSQL pool (databasePoolSize + 2
 * connections) and ~170 MB idle (measured: a lone process 170 MB, each worker
 * 168-170 MB, the primary 130 MB); past the host's cores they only add that.
 */
export const MAX_WORKERS = 64;

/**
 * `--workers N` (source '--workers', a usage error: exit 2) or DEVLIC_WORKERS
 * (a configuration error: exit 1). A whole number from 1 to MAX_WORKERS;
 * there is no `auto`: see docs/postgresql.md "Several workers on one host".
 */
export function parseWorkers(text: string, source: '--workers' | 'DEVLIC_WORKERS'): number {
  const t = text.trim();
  const n = /^\d{1,6}$/.test(t) ? Number(t) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS) return n;
  const why = `${source} must be a whole number of processes from 1 to ${MAX_WORKERS} (got '${text.slice(0, 40)}')`;
  if (source === '--workers') throw new UsageError(why);
  throw new DevlicError('CONFIG_INVALID', why);
}

/**
 * More than one worker needs PostgreSQL: on SQLite the change fan-out (a
 * committed change waking long-polls) runs inside the one process that made
 * the change, so a device waiting on another worker would not hear of it.
 */
export function checkWorkers(workers: number, database: string | null): void {
  if (workers > 1 && database === null) {
    throw new DevlicError('CONFIG_INVALID', `workers: ${workers} worker processes need PostgreSQL (--database or DEVLIC_DATABASE); on SQLite one process serves, since a change made in one worker would not wake the devices waiting on another`);
  }
}

/**
 * Signing threads per worker when DEVLIC_SIGNING_THREADS is not set: the
 * cores the workers' event loops leave free, shared out among them, at least
 * one each. One worker keeps today's figure (cores - 1); 16 workers on 16
 * cores get one each instead of 15, which would be 240 threads, each with a V8 heap of its own.
 */
export function defaultSigningThreads(cores: number, workers: number): number {
  return Math.max(1, Math.ceil((cores - workers) / workers));
}

/**
 * Why this host's workers may not all get their database connections, or
 * null: each worker opens up to databasePoolSize + 2 (pool, LISTEN, the
 * side connection of a write's reads), and PostgreSQL keeps
 * superuser_reserved_connections of max_connections for superusers. Other
 * hosts and tools come on top, so this only catches a host that cannot fit
 * even alone.
 */
export function connectionBudgetProblem(workers: number, poolSize: number, maxConnections: number, reserved: number): string | null {
  const need = workers * (poolSize + 2);
  const usable = maxConnections - reserved;
  if (need <= usable) return null;
  return `this host's ${workers} workers may open ${need} database connections (${workers} × (databasePoolSize ${poolSize} + 2)), more than the ${usable} PostgreSQL allows (max_connections ${maxConnections} − superuser_reserved_connections ${reserved}); raise max_connections or lower workers or databasePoolSize`;
}

/** A worker that ran at least this long before it died was healthy: its restart delay starts over. */
export const STABLE_RUN_MS = 60_000;

/**
 * The restart delay of one worker slot: the project's jittered backoff
 * (1 s growing to 60 s), so that a worker that dies at once (the database
 * unreachable, a bad upgrade) is not restarted in a tight loop; a worker that
 * had run STABLE_RUN_MS or longer is restarted after the first step again.
 */
export class RestartDelay {
  private readonly backoff: Backoff;

  constructor(random?: () => number) {
    this.backoff = new Backoff({ baseMs: 1_000, maxMs: 60_000, ...(random ? { random } : {}) });
  }

  /** Delay before restarting a worker that ran `uptimeMs` (0 when it never listened). */
  after(uptimeMs: number): number {
    if (uptimeMs >= STABLE_RUN_MS) this.backoff.reset();
    return this.backoff.next();
  }

  /** Restarts in a row without a stable run. */
  get failures(): number {
    return this.backoff.failures;
  }
}

/** Messages between the cluster primary and its workers (over the cluster's IPC channel). */
export type WorkerMessage =
  | { type: 'devlic:listening'; url: string }
  | { type: 'devlic:start-failed'; code: string; message: string }
  | { type: 'devlic:metrics-req'; id: number };
export type PrimaryMessage =
  | { type: 'devlic:metrics-res'; id: number; text?: string; error?: string };

/** The environment variable that carries the primary's settings to a worker (read once, then deleted). */
export const WORKER_CONFIG_ENV = 'DEVLIC_WORKER_CONFIG';

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  const t = (m as { type?: unknown } | null)?.type;
  return t === 'devlic:listening' || t === 'devlic:start-failed' || t === 'devlic:metrics-req';
}
