// Text formatting for devlic-admin's human-readable output: aligned tables,
// key/value blocks, relative and absolute times. Pure functions only (the
// clock is passed in), so they are unit-tested without a server or a terminal.

export type Align = 'left' | 'right';

/**
 * Makes a value safe to print on a terminal: names come from devices and
 * admins, so control characters (including ESC and the C1 range, which could
 * drive the terminal) are replaced, and line breaks cannot break a table row.
 */
export function sanitize(value: unknown): string {
  if (value === null || value === undefined) return '-';
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

/** Number of terminal columns a string takes (code points; good enough for names). */
export function displayWidth(s: string): number {
  return [...s].length;
}

/** Cuts a cell to `max` columns, ending in an ellipsis when something was cut. */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 1) return chars.slice(0, max).join('');
  return chars.slice(0, max - 1).join('') + '…';
}

function pad(s: string, width: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

/**
 * Formats rows under headers as columns separated by two spaces. Cells are
 * sanitized; the last column is not padded, so no line has trailing spaces.
 * Returns the text with a final newline.
 */
export function formatTable(headers: string[], rows: unknown[][], align: Align[] = []): string {
  const cells = rows.map((row) => headers.map((_, i) => sanitize(row[i])));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i]))));
  const line = (row: string[]) =>
    row
      .map((c, i) => (i === row.length - 1 && align[i] !== 'right' ? c : pad(c, widths[i], align[i] ?? 'left')))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** Formats label/value pairs as an aligned block ("Label:  value"). Null values print as "-". */
export function formatKeyValue(pairs: Array<[string, unknown]>): string {
  const width = Math.max(0, ...pairs.map(([k]) => displayWidth(k) + 1));
  return pairs.map(([k, v]) => `${pad(k + ':', width, 'left')}  ${sanitize(v)}`.trimEnd()).join('\n') + '\n';
}

function span(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/**
 * Time relative to `now`: "12s ago", "5m ago", "3h ago", "2d ago", or "in 6d"
 * for the future; "never" for null. An unparseable value is shown as it is.
 */
export function formatRelative(iso: string | null | undefined, now: Date): string {
  if (iso === null || iso === undefined || iso === '') return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return sanitize(iso);
  const diff = Math.round((now.getTime() - t) / 1000);
  return diff >= 0 ? `${span(diff)} ago` : `in ${span(-diff)}`;
}

/** Absolute time as "2026-05-01 14:03 UTC"; "-" for null; unparseable values as they are. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return sanitize(iso);
  const d = new Date(t).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 16)} UTC`;
}

/** "1 device", "3 devices". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Joins names for one table cell, "-" when there are none. */
export function names(list: Array<{ name: string }> | null | undefined, max = 40): string {
  if (!list || list.length === 0) return '-';
  return truncate(list.map((x) => x.name).join(', '), max);
}
