// Pure (I/O injected): Active Directory's ranged retrieval of a multi-valued
// attribute. AD returns at most MaxValRange values of an attribute per
// request (1,500 by default): a group with more direct members answers a
// request for `member` with an empty `member` and `member;range=0-1499`
// holding the first 1,500; the client then asks for `member;range=1500-*`
// and so on, until an answer's range ends in `*` (the last slice).
// OpenLDAP never answers this way, so this is checked here by unit tests
// only (test/service/directory-ranged.unit.test.ts), NOT against a real
// Active Directory: see docs/design.md, "Directory groups".
import { DevlicError } from '../../shared/errors.ts';

/** A slice's bounds: `end` null for `*`, the last slice. */
export interface Range { start: number; end: number | null }

/**
 * The range of an attribute description like `member;range=0-1499` or
 * `member;Range=1500-*` (other options such as `;binary` may stand
 * beside it), or null when it is not a ranged description of `attr`.
 * A malformed range of `attr` (`range=x-1`, end before start) is refused.
 */
export function parseRange(description: string, attr: string): Range | null {
  const [name, ...options] = description.split(';');
  if (name!.toLowerCase() !== attr.toLowerCase()) return null;
  const opt = options.find((o) => o.toLowerCase().startsWith('range='));
  if (opt === undefined) return null;
  const m = opt.match(/^range=(\d{1,9})-(\d{1,9}|\*)$/i);
  if (!m) throw new DevlicError('DIRECTORY_FAILED', `the directory answered an attribute '${description}' whose range cannot be read`);
  const start = Number(m[1]);
  const end = m[2] === '*' ? null : Number(m[2]);
  if (end !== null && end < start) throw new DevlicError('DIRECTORY_FAILED', `the directory answered an attribute '${description}' whose range ends before it starts`);
  return { start, end };
}

type Attributes = Record<string, string[]>;

/** The values of `attr` in one answer: plain, or one ranged slice (with its range). */
export function sliceOf(attrs: Attributes, attr: string): { values: string[]; range: Range | null } {
  let plain: string[] = [];
  let ranged: { values: string[]; range: Range } | null = null;
  for (const [desc, values] of Object.entries(attrs)) {
    if (desc.toLowerCase() === attr.toLowerCase()) { plain = values; continue; }
    const range = parseRange(desc, attr);
    if (range === null) continue;
    if (ranged) throw new DevlicError('DIRECTORY_FAILED', `the directory answered two ranges of '${attr}' at once`);
    ranged = { values, range };
  }
  return ranged ? { values: [...plain, ...ranged.values], range: ranged.range } : { values: plain, range: null };
}

/**
 * What to ask for next after a slice, or null when all values are in: the
 * attribute description of the next slice (`member;range=1500-*`). A slice
 * that does not start where the previous one ended, or that brings no
 * values without being the last, is refused: following it could loop.
 */
export function nextRequest(attr: string, range: Range | null, values: number, expectedStart: number): string | null {
  if (range === null || range.end === null) {
    if (range !== null && range.start !== expectedStart) throw new DevlicError('DIRECTORY_FAILED', `the directory answered '${attr}' from ${range.start}, not from ${expectedStart}`);
    return null;
  }
  if (range.start !== expectedStart) throw new DevlicError('DIRECTORY_FAILED', `the directory answered '${attr}' from ${range.start}, not from ${expectedStart}`);
  if (values === 0 || range.end - range.start + 1 !== values) {
    throw new DevlicError('DIRECTORY_FAILED', `the directory answered '${attr};range=${range.start}-${range.end}' with ${values} values`);
  }
  return `${attr};range=${range.end + 1}-*`;
}

/**
 * Every value of `attr`, following ranged slices: `first` is the answer
 * already read (the entry), `fetch(description)` reads the same entry
 * asking for that one attribute description. At most `maxRequests` more
 * requests (a guard against a server that never ends).
 */
export async function allValues(attr: string, first: Attributes, fetch: (description: string) => Promise<Attributes>, maxRequests = 10_000): Promise<{ values: string[]; requests: number }> {
  let slice = sliceOf(first, attr);
  const out = [...slice.values];
  let requests = 0;
  let next = nextRequest(attr, slice.range, slice.values.length, 0);
  while (next !== null) {
    if (++requests > maxRequests) throw new DevlicError('DIRECTORY_FAILED', `the directory kept answering more of '${attr}' after ${maxRequests} requests`);
    const start = slice.range!.end! + 1;
    slice = sliceOf(await fetch(next), attr);
    // An answer with no slice at all after a ranged one: the server has nothing more (treated as the end).
    if (slice.range === null && slice.values.length === 0) break;
    if (slice.range === null) throw new DevlicError('DIRECTORY_FAILED', `the directory answered '${next}' without a range`);
    out.push(...slice.values);
    next = nextRequest(attr, slice.range, slice.values.length, start);
  }
  return { values: out, requests };
}
