// devlic-server configuration: documented defaults, optionally overridden by
// a JSON file (--config) and by command-line flags (shared/config.ts).
import Type from 'typebox';
import { loadConfig } from '../shared/config.ts';
import { parseDuration } from '../shared/cli.ts';
import { DevlicError } from '../shared/errors.ts';
import { MAX_WAIT_SECONDS } from '../shared/api.ts';
import { checkDatabaseUrl } from './store/postgres/url.ts';
import { checkWorkers, MAX_WORKERS } from './workers.ts';

export const ServerConfig = Type.Object({
  /** Folder for the database, signing key and bootstrap admin token (created 0700). */
  dataDir: Type.String({ minLength: 1 }),
  /** HOST:PORT to listen on. Loopback by default: expose it deliberately, with TLS. */
  listen: Type.String({ pattern: '^(\\[[0-9a-fA-F:]+\\]|[^:]+):\\d{1,5}$' }),
  tlsCert: Type.Union([Type.String(), Type.Null()]),
  tlsKey: Type.Union([Type.String(), Type.Null()]),
  /** How long a device stays licensed offline on one token (Microsoft: 90 days). */
  offlineValidityDays: Type.Number({ exclusiveMinimum: 0, maximum: 365 }),
  /** When the agent starts warning, before the token expires (Microsoft: about 10 days). */
  warnBeforeExpiryDays: Type.Number({ minimum: 0, maximum: 365 }),
  /** Tokens older than this are re-signed on the next poll, moving the offline window forward. */
  reissueAfterHours: Type.Number({ exclusiveMinimum: 0 }),
  /** The `refreshAfter` claim: when the agent should ask again even without a change. */
  refreshAfterHours: Type.Number({ exclusiveMinimum: 0 }),
  /** Longest long-poll the service holds, in seconds. */
  maxWaitSeconds: Type.Integer({ minimum: 1, maximum: MAX_WAIT_SECONDS }),
  /** Enrollment requests allowed per client address per minute. */
  enrollPerMinute: Type.Integer({ minimum: 1 }),
  /** Largest accepted request body for admin and device requests, in bytes. */
  adminBodyLimit: Type.Integer({ minimum: 1024 }),
  deviceBodyLimit: Type.Integer({ minimum: 1024 }),
  /**
   * Open connections the service accepts at once; past it new connections are
   * closed at once. Keep it under the process's open-file limit (it is lowered
   * to fit, with a warning, when it is not).
   */
  maxConnections: Type.Integer({ minimum: 2 }),
  /**
   * Long-polls held at once, service-wide. Must be below maxConnections: the
   * difference is kept for /healthz, the admin API and the console. Past it a
   * `?wait=` request is answered at once (304 or the new token) with Retry-After.
   */
  maxLongPolls: Type.Integer({ minimum: 1 }),
  /** Whole request (headers and body) must arrive within this; a trickled request is cut with 408. */
  requestTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600 }),
  /** A connection with no traffic for this long is closed (held long-polls and admin event streams excepted). */
  idleTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  /** An idle keep-alive connection between two requests is closed after this. */
  keepAliveTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  /**
   * Reverse proxies (addresses or CIDRs) whose X-Forwarded-For is believed for
   * the client address (enroll rate limit, logs). Empty: the socket's peer
   * address is the client, whatever headers say.
   */
  trustProxy: Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Fa-f.:/]+$' }), { maxItems: 64 }),
  /**
   * Retire devices not seen (last report, else enrollment) for this long,
   * e.g. "60d"; null or "off": never. A unit is required; at least 1h.
   */
  retireStaleAfter: Type.Union([Type.String({ minLength: 1, maxLength: 32 }), Type.Null()]),
  /**
   * PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE) shared by
   * every replica; null: SQLite in dataDir (docs/postgresql.md). Also
   * --database and DEVLIC_DATABASE. Its password is never logged.
   */
  database: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()]),
  /** Connections each replica keeps to PostgreSQL for queries (plus one for LISTEN). */
  databasePoolSize: Type.Integer({ minimum: 1, maximum: 1000 }),
  /**
   * Replica processes on this host sharing the one listening port (node:cluster),
   * each a full replica with its own pool, LISTEN connection and signing
   * threads. 1: one process, no cluster primary. More than 1 needs `database`
   * (PostgreSQL). Also --workers and DEVLIC_WORKERS (service/workers.ts).
   */
  workers: Type.Integer({ minimum: 1, maximum: MAX_WORKERS }),
}, { additionalProperties: false });
export type ServerConfig = Type.Static<typeof ServerConfig>;

export const SERVER_DEFAULTS: ServerConfig = {
  dataDir: '/var/lib/devlic-server',
  listen: '127.0.0.1:8470',
  tlsCert: null,
  tlsKey: null,
  offlineValidityDays: 90,
  warnBeforeExpiryDays: 10,
  reissueAfterHours: 24,
  refreshAfterHours: 24,
  maxWaitSeconds: MAX_WAIT_SECONDS,
  enrollPerMinute: 60,
  adminBodyLimit: 1024 * 1024,
  deviceBodyLimit: 16 * 1024,
  maxConnections: 20_000,
  maxLongPolls: 19_000,
  requestTimeoutSeconds: 30,
  idleTimeoutSeconds: 30,
  keepAliveTimeoutSeconds: 30,
  trustProxy: [],
  retireStaleAfter: null,
  database: null,
  databasePoolSize: 10,
  workers: 1,
};

/** Shortest retireStaleAfter: shorter would retire laptops that are merely shut for the night. */
export const MIN_RETIRE_STALE_SECONDS = 3600;

/** retireStaleAfter in seconds, or null when off. Throws CONFIG_INVALID for a value without a unit or below 1h. */
export function retireStaleSeconds(value: string | null): number | null {
  if (value === null || value.trim() === 'off') return null;
  let seconds: number;
  try {
    seconds = parseDuration(value);
  } catch (e) {
    throw new DevlicError('CONFIG_INVALID', `retireStaleAfter: ${(e as Error).message}, or 'off'`);
  }
  if (seconds < MIN_RETIRE_STALE_SECONDS) {
    throw new DevlicError('CONFIG_INVALID', `retireStaleAfter '${value}' is shorter than 1h; devices that are only switched off would be retired`);
  }
  return seconds;
}

export function loadServerConfig(file: string | undefined, overrides: Partial<ServerConfig>): ServerConfig {
  const cfg = loadConfig(ServerConfig, SERVER_DEFAULTS, { file, fileRequired: !!file, overrides });
  checkLimits(cfg);
  const bad = listenProblem(cfg.listen);
  if (bad) throw new DevlicError('CONFIG_INVALID', `listen: ${bad}`);
  retireStaleSeconds(cfg.retireStaleAfter);
  if (cfg.database !== null) checkDatabaseUrl(cfg.database);
  checkWorkers(cfg.workers, cfg.database);
  return cfg;
}

/**
 * Why a HOST:PORT cannot be listened on, or null. Checked before anything is
 * created: a port Node refuses would otherwise fail only after the data
 * folder, database and admin token exist.
 */
export function listenProblem(listen: string): string | null {
  const i = listen.lastIndexOf(':');
  if (i < 0) return `'${listen}' is not HOST:PORT (e.g. 127.0.0.1:8470, 0.0.0.0:8470, [::1]:8470)`;
  const host = listen.slice(0, i);
  const port = listen.slice(i + 1);
  if (host === '') return `'${listen}' has no host; use 127.0.0.1${listen} (this computer only) or 0.0.0.0${listen} (every interface)`;
  if (/^\[.*\]$/.test(host) ? !/^\[[0-9a-fA-F:.]+\]$/.test(host) : /[:\s\[\]/]/.test(host)) {
    return `'${listen}': '${host}' is not a host name or address (an IPv6 address goes in brackets: [::1]:8470)`;
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return `'${listen}': the port must be a number from 0 to 65535`;
  return null;
}

/** Relations between settings that a schema cannot state. */
export function checkLimits(cfg: ServerConfig): void {
  if (cfg.maxLongPolls >= cfg.maxConnections) {
    throw new DevlicError('CONFIG_INVALID', `maxLongPolls (${cfg.maxLongPolls}) must be below maxConnections (${cfg.maxConnections}): the difference is kept for /healthz and the admin API`);
  }
}

export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}
