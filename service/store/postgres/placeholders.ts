// Rewrites the portable `?` placeholders of store/sql.ts into PostgreSQL's
// numbered $1, $2, ... A `?` inside a string literal, a quoted identifier,
// a dollar-quoted string or a comment is left alone (the portable rules
// forbid them, but a query that breaks the rule must not be silently
// renumbered). Pure: no driver here.
import { DevlicError } from '../../../shared/errors.ts';

/** Returns the query with `?` numbered, and how many there were. */
export function numberPlaceholders(sql: string): { text: string; count: number } {
  let out = '';
  let count = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === '?') {
      out += `$${++count}`;
      i++;
    } else if (c === "'" || c === '"') {
      // '' (or "") inside doubles the quote: the scan just re-enters the literal.
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? n : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      // PostgreSQL block comments nest.
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') { depth++; j += 2; } else if (sql[j] === '*' && sql[j + 1] === '/') { depth--; j += 2; } else j++;
      }
      out += sql.slice(i, j);
      i = j;
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? ' ')) {
      // $tag$ ... $tag$ (tag may be empty); a bare $1 is a positional parameter.
      const tag = sql.slice(i).match(/^\$([A-Za-z_][\w]*)?\$/);
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        const stop = end < 0 ? n : end + tag[0].length;
        out += sql.slice(i, stop);
        i = stop;
      } else {
        out += c;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, count };
}

const cache = new Map<string, { text: string; count: number }>();
const CACHE_MAX = 2000;

/**
 * numberPlaceholders, cached (the named queries are a few hundred fixed
 * strings), checking that the parameters match: a mismatch is a
 * programming error that PostgreSQL would report less clearly.
 */
export function toPostgres(sql: string, params: readonly unknown[]): string {
  let r = cache.get(sql);
  if (!r) {
    r = numberPlaceholders(sql);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(sql, r);
  }
  if (r.count !== params.length) {
    throw new DevlicError('INTERNAL', `query has ${r.count} placeholder(s) but ${params.length} parameter(s): ${sql.slice(0, 200)}`);
  }
  // PostgreSQL text cannot hold U+0000 (SQLite's can): refused as bad input, not a 500.
  for (const p of params) {
    if (typeof p === 'string' && p.includes('\u0000')) {
      throw new DevlicError('VALIDATION_FAILED', 'text with a NUL character (U+0000) cannot be stored or looked up');
    }
  }
  return r.text;
}
