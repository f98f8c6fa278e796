// Argument helpers of devlic-admin's command table: turning what an admin
// typed into path segments, counts, dates and query strings, with UsageError
// (exit 2) for anything malformed. Pure, so they are tested without a server.
import { parseDuration, UsageError } from '../../shared/cli.ts';
import type { CommandArgs } from './command-spec.ts';

/** A path segment for an id or name typed by the admin. */
export function seg(ref: string): string {
  const s = encodeURIComponent(ref);
  // "." and ".." would be dot segments to proxies and URL parsers.
  return s === '.' || s === '..' ? s.replace(/\./g, '%2E') : s;
}

/** Checks a reference (id or name) the admin typed. */
export function checkRef(value: string, what: string): string {
  if (value.trim() === '') throw new UsageError(`${what} must not be empty`);
  if (value.length > 128) throw new UsageError(`${what} is too long (at most 128 characters)`);
  return value;
}

/** Takes the positional arguments named in `names`; with `rest`, one or more further ones. */
export function take(a: CommandArgs, names: string[], rest?: string): string[] {
  const p = a.positionals;
  if (p.length < names.length) throw new UsageError(`missing ${names[p.length]}`);
  if (rest) {
    if (p.length === names.length) throw new UsageError(`missing ${rest} (give at least one)`);
  } else if (p.length > names.length) {
    throw new UsageError(`unexpected argument '${p[names.length]}'`);
  }
  return p.map((v, i) => checkRef(v, i < names.length ? names[i] : rest!));
}

export function str(a: CommandArgs, name: string): string | undefined {
  const v = a.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(a: CommandArgs, name: string, what: string): string {
  const v = str(a, name);
  if (v === undefined) throw new UsageError(`missing --${name} ${what}`);
  return v;
}

/** Parses a whole number given for `--flag`, within [min, max]. */
export function parseCount(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max} (got '${text}')`);
  }
  return Number(text);
}

export function count(a: CommandArgs, name: string, min: number, max: number): number | undefined {
  const v = str(a, name);
  return v === undefined ? undefined : parseCount(v, name, min, max);
}

/**
 * Parses a term end: a date (YYYY-MM-DD, meaning through the end of that day,
 * UTC) or an ISO-8601 date-time with a zone (normalised to UTC).
 */
export function parseTermEnd(text: string): string {
  const date = text.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(text);
  let t = NaN;
  if (date) {
    t = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]), 23, 59, 59);
    // Date.UTC rolls 2026-02-30 over to March: refuse dates that do not exist.
    if (new Date(t).toISOString().slice(0, 10) !== text) t = NaN;
  } else if (dateTime) {
    t = Date.parse(text);
  }
  if (Number.isNaN(t)) {
    throw new UsageError(`--term-end must be a date like 2027-06-30 or a date-time like 2027-06-30T12:00:00Z (got '${text}')`);
  }
  return new Date(t).toISOString();
}

const MIN_TOKEN_LIFETIME = 60;
const MAX_TOKEN_LIFETIME = 366 * 86400;

/** Parses `--expires` (e.g. 30m, 12h, 7d) into seconds within what the service accepts. */
export function parseExpires(text: string): number {
  const seconds = parseDuration(text);
  if (seconds < MIN_TOKEN_LIFETIME || seconds > MAX_TOKEN_LIFETIME) {
    throw new UsageError(`--expires must be between 1m and 366d (got '${text}')`);
  }
  return seconds;
}

const MAX_STALE_MINUTES = 527_040;

/** Parses `--stale` (e.g. 30d) into whole minutes, as the devices list takes it. */
export function parseStale(text: string): number {
  const seconds = parseDuration(text);
  if (seconds < 60 || seconds > MAX_STALE_MINUTES * 60) throw new UsageError(`--stale must be between 1m and 366d (got '${text}')`);
  return Math.floor(seconds / 60);
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
