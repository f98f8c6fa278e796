// devlic-admin's table formatter and its times: column alignment, control
// characters from device-supplied names, truncation, relative and absolute
// times, and --term-end parsing. Pure, no service.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/cli.ts';
import { parseTermEnd } from '../../service/admin-cli/arguments.ts';
import { formatKeyValue, formatRelative, formatTable, formatTime, sanitize, truncate } from '../../service/admin-cli/table.ts';

const NOW = new Date('2026-05-01T12:00:00Z');

describe('table formatting', () => {
  it('aligns columns, right-aligns numbers and leaves no trailing spaces', () => {
    const out = formatTable(['SKU', 'TOTAL', 'NAME'], [['A', 5, 'x'], ['LONGER', 120, 'yy']], ['left', 'right']);
    expect(out).toBe(
      'SKU     TOTAL  NAME\n' +
      'A           5  x\n' +
      'LONGER    120  yy\n',
    );
    for (const line of out.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('prints null cells as "-" and a header alone for no rows', () => {
    expect(formatTable(['A', 'B'], [[null, undefined]])).toBe('A  B\n-  -\n');
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID  NAME\n');
  });

  it('neutralises control characters from device-supplied names', () => {
    expect(sanitize('pc\u001b[31m\nx\u009b')).toBe('pc?[31m?x?');
    const out = formatTable(['NAME'], [['evil\r\nrow']]);
    expect(out.split('\n')).toHaveLength(3);
  });

  it('truncates with an ellipsis, counting code points', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(truncate('ééééé', 3)).toBe('éé…');
  });

  it('formats key/value blocks aligned on the longest label', () => {
    expect(formatKeyValue([['ID', 'x'], ['Created', null]])).toBe('ID:       x\nCreated:  -\n');
  });
});

describe('times', () => {
  it('shows past times relative to now', () => {
    expect(formatRelative('2026-05-01T11:59:48Z', NOW)).toBe('12s ago');
    expect(formatRelative('2026-05-01T11:55:00Z', NOW)).toBe('5m ago');
    expect(formatRelative('2026-05-01T09:00:00Z', NOW)).toBe('3h ago');
    expect(formatRelative('2026-04-28T12:00:00Z', NOW)).toBe('3d ago');
    expect(formatRelative('2026-05-01T12:00:00Z', NOW)).toBe('0s ago');
  });

  it('shows future times as "in …", null as "never" and garbage as it is', () => {
    expect(formatRelative('2026-05-08T12:00:00Z', NOW)).toBe('in 7d');
    expect(formatRelative(null, NOW)).toBe('never');
    expect(formatRelative('not a date', NOW)).toBe('not a date');
  });

  it('formats absolute times in UTC', () => {
    expect(formatTime('2026-05-01T14:03:59.999+02:00')).toBe('2026-05-01 12:03 UTC');
    expect(formatTime(null)).toBe('-');
  });

  it('parses --term-end dates and date-times', () => {
    expect(parseTermEnd('2027-06-30')).toBe('2027-06-30T23:59:59.000Z');
    expect(parseTermEnd('2027-06-30T12:00:00+02:00')).toBe('2027-06-30T10:00:00.000Z');
    expect(() => parseTermEnd('2027-02-30')).toThrow(UsageError);
    expect(() => parseTermEnd('30/06/2027')).toThrow(UsageError);
    expect(() => parseTermEnd('2027-06-30T12:00:00')).toThrow(/--term-end/);
  });
});
