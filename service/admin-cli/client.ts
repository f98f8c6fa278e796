// HTTP client of devlic-admin: sends one admin API request with undici (JSON
// in and out, 10 s timeout, bounded answer size) and turns every failure into
// an error whose message says what to do: ApiError for the service's own
// `{error: {code, message}}` answers, CliFailure for everything else.
import { Agent } from 'undici';
import { DevlicError, type ErrorCode } from '../../shared/errors.ts';
import type { ApiRequest } from './command-spec.ts';

/** A failure outside the service's error contract (network, timeout, not a devlic answer). */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** An error answer of the service: its code and message, plus a hint for the admin. */
export class ApiError extends DevlicError {
  readonly status: number;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, status: number, hint: string | undefined, details?: Record<string, unknown>) {
    super(code, message, details);
    this.name = 'ApiError';
    this.status = status;
    this.hint = hint;
  }
}

export interface ClientOptions {
  /** Service base URL (may include a path prefix), no trailing slash. */
  server: string;
  token: string;
  timeoutMs?: number;
  maxBytes?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** What to do next, by the service's error code. */
export function hintFor(code: string, status: number): string | undefined {
  switch (code) {
    case 'UNAUTHENTICATED':
    case 'TOKEN_INVALID':
      return 'Check the admin token (--token or DEVLIC_ADMIN_TOKEN); the first token is in <data-dir>/admin-token on the server.';
    case 'FORBIDDEN':
      return "This needs a global-admin token; 'devlic-admin whoami' shows the role of yours.";
    case 'NOT_FOUND':
      return "Check the id or name; the 'list' commands show them.";
    case 'AMBIGUOUS_NAME':
      return "Several objects have that name: use the id instead (the 'list' commands show ids).";
    case 'GROUP_ALREADY_LICENSED':
      return "A group has one subscription: unassign the current one first ('devlic-admin licenses list' shows it).";
    case 'GROUP_CYCLE':
      return 'A group cannot be nested inside itself or inside one of its own nested groups.';
    case 'NAME_TAKEN':
      return 'Choose another name.';
    case 'RATE_LIMITED':
      return 'Wait a moment and try again.';
    case 'GROUP_HAS_LICENSES':
      return "Unassign the subscription first ('devlic-admin licenses list' shows which groups have one).";
    case 'LAST_GLOBAL_ADMIN':
      return "Create another global-admin first: 'devlic-admin admins create --role global-admin'.";
    case 'DEVICE_NOT_RETIRED':
      return "Retire the device first: 'devlic-admin devices retire DEVICE'.";
    case 'DIRECTORY_FAILED':
      return "No membership was changed. 'devlic-admin directories test NAME' checks the URL, bind DN and password; 'directories list' shows the last error.";
    case 'DIRECTORY_IN_USE':
      return "Delete the groups that follow it first ('devlic-admin directories list' names them).";
    default:
      return status >= 500 ? 'The service failed; its log says why.' : undefined;
  }
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; message?: string; errors?: Array<{ message?: string }>; cause?: unknown };
  const message = err?.message || err?.errors?.[0]?.message || err?.code || String(e);
  const cause = err?.cause as { message?: string } | undefined;
  return cause?.message && !message.includes(cause.message) ? `${message}: ${cause.message}` : message;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function isTimeout(e: unknown): boolean {
  const err = e as { name?: string; code?: string };
  return err?.name === 'TimeoutError' || TIMEOUT_CODES.has(err?.code ?? '');
}

/** Reads the body up to `max` bytes; beyond that the answer is refused. */
async function readBody(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number, server: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new CliFailure(`the answer from ${server} is larger than ${max} bytes; narrow the request (e.g. --limit)`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends one request and returns the parsed JSON answer (null for an empty one). */
export async function callApi(opts: ClientOptions, req: ApiRequest): Promise<unknown> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const base = new URL(opts.server);
  const prefix = base.pathname.replace(/\/+$/, '');
  const dispatcher = new Agent({ connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const headers: Record<string, string> = {
    accept: req.raw ? 'text/csv, application/json' : 'application/json',
    authorization: `Bearer ${opts.token}`,
  };
  let payload: string | undefined;
  if (req.body !== undefined) {
    payload = JSON.stringify(req.body);
    headers['content-type'] = 'application/json';
  }
  try {
    let res;
    try {
      res = await dispatcher.request({
        origin: base.origin,
        path: prefix + req.path,
        method: req.method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      if (isTimeout(e)) {
        throw new CliFailure(`the licensing service at ${opts.server} did not answer within ${timeoutMs / 1000} s (is devlic-server running and is --server right?)`);
      }
      throw new CliFailure(`cannot reach the licensing service at ${opts.server}: ${describeNetworkError(e)} (is devlic-server running? use --server)`);
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > maxBytes) {
      res.body.destroy();
      throw new CliFailure(`the answer from ${opts.server} is larger than ${maxBytes} bytes; narrow the request (e.g. --limit)`);
    }
    let text: string;
    try {
      text = await readBody(res.body, maxBytes, opts.server);
    } catch (e) {
      if (e instanceof CliFailure) throw e;
      if (isTimeout(e)) throw new CliFailure(`the licensing service at ${opts.server} stopped answering (timeout after ${timeoutMs / 1000} s); try again`);
      throw new CliFailure(`the connection to ${opts.server} broke: ${describeNetworkError(e)}; try again`);
    }
    const status = res.statusCode;
    const type = String(res.headers['content-type'] ?? '');
    if (req.raw && status >= 200 && status < 300 && type.startsWith('text/')) return text;
    let data: unknown = null;
    let parsed = text.trim() === '';
    if (!parsed) {
      try {
        data = JSON.parse(text);
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    if (status >= 200 && status < 300) {
      if (!parsed) throw new CliFailure(`${opts.server} did not answer with JSON (HTTP ${status}); is --server pointing at devlic-server?`);
      return data;
    }
    const error = (data as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    if (parsed && error && typeof error.code === 'string' && typeof error.message === 'string') {
      const details = error.details && typeof error.details === 'object' ? error.details as Record<string, unknown> : undefined;
      throw new ApiError(error.code as ErrorCode, error.message, status, hintFor(error.code, status), details);
    }
    throw new CliFailure(`${opts.server} answered HTTP ${status}, not with a devlic error: is devlic-server running (behind any proxy) and is --server right?`);
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}
