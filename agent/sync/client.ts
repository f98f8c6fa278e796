// How the agent talks to the service, safely: undici with keep-alive, HTTPS
// (optionally trusting only a given CA file), plain http:// only to loopback
// unless explicitly allowed, no redirects, connect/header/body timeouts and a
// cap on the response size. Answers are returned as status + parsed JSON;
// failures become ServiceError with what a caller needs to back off.
//
// undici is imported by module, not through its index: the index loads all of
// undici (fetch, WebSocket, EventSource, caches, mocks...) and with it about
// 13 MB of resident memory the daemon never uses (bench/undici-cost.ts). The
// agent talks to one origin, so it needs one Pool and the request API; the
// Pool is what the undici Agent used before made for that origin (same
// connection limit), so the traffic is the same.
import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Dispatcher } from 'undici';
import Pool from 'undici/lib/dispatcher/pool.js';
import requestOn from 'undici/lib/api/api-request.js';
import { parseRetryAfter } from '../../shared/backoff.ts';
import { AgentError } from '../errors.ts';
import { assertTrustedFile } from '../host/fsutil.ts';

/** http.maxHeaderSize without --max-http-header-size (which the single executable cannot be given). */
export const NODE_MAX_HEADER_SIZE = 16 * 1024;

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
loopback.addSubnet('::ffff:7f00:0', 104, 'ipv6'); // IPv4-mapped 127.0.0.0/8

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return loopback.check(h, 'ipv4');
  if (isIPv6(h)) return loopback.check(h, 'ipv6');
  return false;
}

/**
 * Checks a server URL against the transport rules and returns it normalised.
 * Throws AgentError (a usage problem the admin must fix) when it breaks them.
 */
export function checkServerUrl(text: string, allowInsecureHttp: boolean): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new AgentError(`server URL '${text}' is not a valid URL`, 'use e.g. https://devlic.example.org');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AgentError(`server URL must use https:// (got ${u.protocol})`);
  if (u.username || u.password) throw new AgentError('server URL must not contain a user name or password');
  if (u.search || u.hash) throw new AgentError('server URL must not contain a query or fragment');
  if (u.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(u.hostname)) {
    throw new AgentError(`refusing plain http:// to ${u.hostname}: entitlements and device keys would cross the network unprotected`,
      'use https://, or pass --allow-insecure-http (config allowInsecureHttp) on a network you trust');
  }
  // The agent adds /v1/... itself; a URL copied from an API path would double it
  // ("no route GET /v1/v1/enroll"), so say which part to leave out.
  const api = u.pathname.match(/\/v\d+(\/.*)?$/);
  if (api) {
    const base = new URL(u.href);
    base.pathname = u.pathname.slice(0, api.index) + '/';
    throw new AgentError(`server URL '${text}' includes the API path '${u.pathname.slice(api.index)}'`,
      `give the service's base URL: ${base.href} (the agent adds /v1/... itself)`);
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

/**
 * Says what a failed connection most likely means when the scheme does not
 * match the server: https:// to a plain-HTTP server fails inside OpenSSL
 * ("wrong version number"), http:// to a TLS server is just hung up on.
 * Returns null when the error is not of that kind.
 */
export function schemeMismatch(base: URL, e: unknown): string | null {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const codes = [err.code, err.cause?.code].filter(Boolean).join(' ');
  const text = `${codes} ${err.message ?? ''} ${err.cause?.message ?? ''}`;
  if (base.protocol === 'https:' && /WRONG_VERSION_NUMBER|wrong version number|PACKET_LENGTH_TOO_LONG|packet length too long|EPROTO|HTTP_REQUEST/.test(text)) {
    const http = new URL(base.href);
    http.protocol = 'http:';
    return `the server at ${base.origin} does not speak TLS (it answers plain HTTP); did you mean ${http.href}?`;
  }
  if (base.protocol === 'http:' && /UND_ERR_SOCKET|ECONNRESET|other side closed/.test(text)) {
    const https = new URL(base.href);
    https.protocol = 'https:';
    return `the server at ${base.origin} closed the connection without answering; if it serves TLS, use ${https.href}`;
  }
  return null;
}

export interface ClientOptions {
  server: string;
  caFile?: string;
  allowInsecureHttp: boolean;
  timeoutMs: number;
  maxResponseBytes: number;
}

export type ServiceErrorKind = 'network' | 'http' | 'protocol';

export class ServiceError extends Error {
  readonly kind: ServiceErrorKind;
  readonly status: number | null;
  readonly code: string;
  readonly retryAfterMs?: number;
  readonly serverDateMs?: number;
  /** The `details` object of the service's error body, when it sent one (e.g. DEVICE_MERGED's signed notice). */
  readonly details?: Record<string, unknown>;

  constructor(kind: ServiceErrorKind, status: number | null, code: string, message: string, extra: { retryAfterMs?: number; serverDateMs?: number; details?: Record<string, unknown> } = {}) {
    super(message);
    this.name = 'ServiceError';
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.retryAfterMs = extra.retryAfterMs;
    this.serverDateMs = extra.serverDateMs;
    this.details = extra.details;
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The service's Date header (ms), when present. */
  serverDateMs?: number;
}

export class HttpClient {
  readonly base: URL;
  private readonly dispatcher: Dispatcher;
  private readonly opts: ClientOptions;
  /** Set by the first answer: from then on a reset is not taken for a TLS server on an http:// URL. */
  private answered = false;

  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.base = checkServerUrl(opts.server, opts.allowInsecureHttp);
    let ca: string | undefined;
    if (opts.caFile) {
      assertTrustedFile(opts.caFile, 'CA file');
      ca = readFileSync(opts.caFile, 'utf8');
    }
    this.dispatcher = new Pool(this.base.origin, {
      connect: { timeout: opts.timeoutMs, ...(ca ? { ca } : {}) },
      maxResponseSize: opts.maxResponseBytes,
      keepAliveTimeout: 30_000,
      // Node's default (http.maxHeaderSize), given here so that undici does not
      // load node:http just to read it: in the release bundle that require is
      // lazy (installer/build/lazy-builtins.ts) and node:http is ~3 MB resident.
      maxHeaderSize: NODE_MAX_HEADER_SIZE,
      // The device long-poll, one user-licence long-poll per signed-in person (issue 16), reports and refreshes.
      connections: 8,
    });
  }

  url(path: string): URL {
    const u = new URL(path.replace(/^\//, ''), this.base);
    // The pool only ever connects to the configured origin; a path naming another would be sent there regardless.
    if (u.origin !== this.base.origin) throw new AgentError(`refusing a request outside ${this.base.origin}: ${path}`);
    return u;
  }

  /**
   * One request. `holdMs` is added to the header timeout for long-polls.
   * Throws ServiceError for network failures, oversized or malformed answers;
   * HTTP statuses (including 4xx/5xx) are returned, not thrown.
   */
  async send(method: 'GET' | 'POST', path: string, opts: { headers?: Record<string, string>; json?: unknown; holdMs?: number; signal?: AbortSignal } = {}): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    const u = this.url(path);
    let res: Dispatcher.ResponseData;
    // undici frees a keep-alive connection for its next request one event-loop
    // turn after an answer ends (setImmediate). The poll loop asks again in
    // the same turn (a 304 is handled without any real I/O), so without this
    // the pool found the connection still busy and opened a new one for every
    // long-poll (a TLS handshake every 55 s), the old one idling until its
    // keep-alive ran out. Waiting one turn lets the next request reuse it.
    await nextTurn();
    // The wait for the answer's headers is bounded by one native timer rather
    // than undici's headersTimeout: undici's timers tick twice a second while
    // armed, which would wake an idle agent all through every long-poll.
    const deadline = AbortSignal.timeout(this.opts.timeoutMs + (opts.holdMs ?? 0));
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    try {
      res = await requestOn.call(this.dispatcher, {
        origin: u.origin, path: u.pathname + u.search,
        method, headers, body, signal,
        headersTimeout: 0,
        bodyTimeout: this.opts.timeoutMs,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw Object.assign(new Error('request aborted'), { name: 'AbortError' });
      if (isTooLarge(e)) throw this.tooLarge(null);
      if (deadline.aborted) throw new ServiceError('network', null, 'UNREACHABLE', `no answer from ${this.base.origin} within ${Math.round((this.opts.timeoutMs + (opts.holdMs ?? 0)) / 1000)} s`);
      const mismatch = schemeMismatch(this.base, e);
      if (mismatch && this.base.protocol === 'https:') throw new ServiceError('network', null, 'UNREACHABLE', `cannot talk to ${this.base.origin}: ${mismatch}`);
      // A reset on http:// may be a TLS server, but only before this server ever answered us: once it
      // has, a reset is a reset (a restart, a proxy), and the hint would send IT the wrong way.
      const hint = mismatch && !this.answered ? ` (${mismatch})` : '';
      throw new ServiceError('network', null, 'UNREACHABLE', `cannot reach ${this.base.origin}: ${describe(e)}${hint}`);
    }
    this.answered = true;
    const date = typeof res.headers.date === 'string' ? Date.parse(res.headers.date) : NaN;
    const serverDateMs = Number.isNaN(date) ? undefined : date;
    let text: string;
    const got = { bytes: 0 };
    try {
      text = await readLimited(res.body, this.opts.maxResponseBytes, got);
    } catch (e) {
      if (opts.signal?.aborted) throw Object.assign(new Error('request aborted'), { name: 'AbortError' });
      if (isTooLarge(e)) throw this.tooLarge(res.statusCode, serverDateMs);
      // The connection broke or stalled mid-answer: a transport failure, said
      // as such rather than as undici's "other side closed".
      const announced = res.headers['content-length'];
      const of = typeof announced === 'string' ? ` of ${announced}` : '';
      const why = (e as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT'
        ? `stalled: no data for ${Math.round(this.opts.timeoutMs / 1000)} s after ${got.bytes}${of} bytes`
        : deadline.aborted
          ? `did not complete within ${Math.round((this.opts.timeoutMs + (opts.holdMs ?? 0)) / 1000)} s (${got.bytes}${of} bytes)`
          : `was cut off after ${got.bytes}${of} bytes: ${describe(e)}`;
      throw new ServiceError('network', res.statusCode, 'INCOMPLETE_RESPONSE', `answer from ${this.base.origin} ${why}`, { serverDateMs });
    }
    let parsed: unknown = null;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.statusCode < 400) throw new ServiceError('protocol', res.statusCode, 'BAD_RESPONSE', `answer from ${this.base.origin} is not JSON`, { serverDateMs });
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, serverDateMs };
  }

  /** Turns a non-success answer into a ServiceError carrying the service's code and Retry-After. */
  errorOf(a: Answer, nowMs: number): ServiceError {
    const err = (a.body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : `HTTP_${a.status}`;
    const message = typeof err?.message === 'string' ? err.message : `HTTP ${a.status}`;
    const details = err?.details && typeof err.details === 'object' && !Array.isArray(err.details) ? err.details as Record<string, unknown> : undefined;
    return new ServiceError('http', a.status, code, `${this.base.origin} answered ${a.status} ${code}: ${message}`, {
      retryAfterMs: parseRetryAfter(a.headers['retry-after'], nowMs), serverDateMs: a.serverDateMs, details,
    });
  }

  private tooLarge(status: number | null, serverDateMs?: number): ServiceError {
    return new ServiceError('protocol', status, 'BAD_RESPONSE', `answer from ${this.base.origin} refused: larger than ${this.opts.maxResponseBytes} bytes (maxResponseBytes)`, { serverDateMs });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

class TooLargeError extends Error {}

/** undici's own maxResponseSize check and ours both mean "over the limit". */
function isTooLarge(e: unknown): boolean {
  return e instanceof TooLargeError || (e as { code?: string })?.code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE';
}

async function readLimited(body: Dispatcher.ResponseData['body'], max: number, got: { bytes: number }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    got.bytes += (chunk as Buffer).length;
    if (got.bytes > max) {
      body.destroy();
      throw new TooLargeError(`response larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const msg = err.cause?.message ?? err.message ?? String(e);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}
