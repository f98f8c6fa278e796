// Connection limits and timeouts of the HTTP server, worked out from the
// configuration (pure functions; the process's open-file limit is read once,
// at start, by openFileLimit()).
//
// Why each one:
// - maxConnections: past the open-file limit accept() fails for everyone,
//   /healthz and the admin API included. Node closes connections over
//   server.maxConnections at once instead, and the process keeps its files.
// - maxLongPolls, below maxConnections: held long-polls can never take the
//   last connections; the difference is kept for health checks and admins.
// - requestTimeout = headersTimeout: a request trickled byte by byte (headers
//   or body) is cut with 408 once this has passed since its first byte. Node
//   looks for such requests every connectionsCheckingInterval, so that is
//   kept to a tenth of the timeout (a request is cut within 110 % of it). A
//   held long-poll is not affected: its request was complete on arrival.
// - idle (socket) timeout: a client that stops reading its answer is dropped;
//   held long-polls and event streams raise it for their own socket.
import { readFileSync } from 'node:fs';
import type { ServerConfig } from '../config.ts';

/** Files the process needs besides sockets: database, WAL, key, log, stdio, libuv. */
export const RESERVED_FILES = 64;

export interface ConnectionLimits {
  maxConnections: number;
  maxLongPolls: number;
  /** Set when the configured limits were lowered to fit the open-file limit. */
  loweredFrom: { maxConnections: number; maxLongPolls: number; openFiles: number } | null;
}

/**
 * The limits to apply: the configured ones, lowered to fit `openFiles` (the
 * soft RLIMIT_NOFILE, null when unknown) keeping the same share for long-polls.
 */
export function effectiveLimits(cfg: Pick<ServerConfig, 'maxConnections' | 'maxLongPolls'>, openFiles: number | null): ConnectionLimits {
  const fit = openFiles === null ? Infinity : Math.max(2, openFiles - RESERVED_FILES);
  if (cfg.maxConnections <= fit) return { maxConnections: cfg.maxConnections, maxLongPolls: cfg.maxLongPolls, loweredFrom: null };
  const maxConnections = fit;
  const maxLongPolls = Math.max(1, Math.min(maxConnections - 1, Math.floor((maxConnections * cfg.maxLongPolls) / cfg.maxConnections)));
  return { maxConnections, maxLongPolls, loweredFrom: { maxConnections: cfg.maxConnections, maxLongPolls: cfg.maxLongPolls, openFiles: openFiles! } };
}

/** The soft open-file limit from /proc/self/limits text ("Max open files  1024  4096  files"). */
export function parseOpenFileLimit(procLimits: string): number | null {
  const m = procLimits.match(/^Max open files\s+(\d+|unlimited)\s/m);
  if (!m || m[1] === 'unlimited') return null;
  return Number(m[1]);
}

/** This process's soft open-file limit (Linux; null elsewhere). Node has raised it to the hard limit by now. */
export function openFileLimit(): number | null {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

export interface ServerTimeouts {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  checkIntervalMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export function serverTimeouts(cfg: Pick<ServerConfig, 'requestTimeoutSeconds' | 'idleTimeoutSeconds' | 'keepAliveTimeoutSeconds'>): ServerTimeouts {
  const requestTimeoutMs = cfg.requestTimeoutSeconds * 1000;
  return {
    requestTimeoutMs,
    headersTimeoutMs: requestTimeoutMs,
    checkIntervalMs: Math.min(5_000, Math.max(250, Math.round(requestTimeoutMs / 10))),
    idleTimeoutMs: cfg.idleTimeoutSeconds * 1000,
    keepAliveTimeoutMs: cfg.keepAliveTimeoutSeconds * 1000,
  };
}

/** Socket idle timeout while a long-poll of `waitMs` is held: the wait plus a margin for answering. */
export function longPollSocketTimeoutMs(waitMs: number, idleTimeoutMs: number): number {
  return waitMs + idleTimeoutMs;
}
