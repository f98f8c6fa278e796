// Checking and printing a PostgreSQL connection URL: the password never
// reaches a log line or an error message.
import { DevlicError } from '../../../shared/errors.ts';

/** The URL with its password replaced by ***; unparseable input is not echoed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

/** Throws CONFIG_INVALID unless url is a postgres:// or postgresql:// URL. */
export function checkDatabaseUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DevlicError('CONFIG_INVALID', 'database: not a URL; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new DevlicError('CONFIG_INVALID', `database: '${u.protocol}' URLs are not supported; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE`);
  }
}
