// The `?` -> $n rewriting for PostgreSQL and the change payload chunking: pure functions.
import { describe, expect, it } from 'vitest';
import { numberPlaceholders, toPostgres } from '../../service/store/postgres/placeholders.ts';
import { decodeChanges, encodeChanges, MAX_NAMED_IDS, MAX_PAYLOAD_BYTES } from '../../service/store/postgres/payload.ts';

describe('numberPlaceholders', () => {
  const cases: [string, string, number][] = [
    ['SELECT 1', 'SELECT 1', 0],
    ['', '', 0],
    ['?', '$1', 1],
    ['SELECT * FROM t WHERE a = ? AND b = ?', 'SELECT * FROM t WHERE a = $1 AND b = $2', 2],
    ['INSERT INTO t (a,b,c) VALUES (?,?,?)', 'INSERT INTO t (a,b,c) VALUES ($1,$2,$3)', 3],
    ['lower(name) = lower(?)', 'lower(name) = lower($1)', 1],
    ['??', '$1$2', 2],
    // ten and more: numbering is not single-digit
    [Array(12).fill('?').join(','), Array.from({ length: 12 }, (_, i) => `$${i + 1}`).join(','), 12],
    // string literals, with doubled quotes inside
    ["SELECT '?' , ?", "SELECT '?' , $1", 1],
    ["SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1],
    ["SELECT '', ?", "SELECT '', $1", 1],
    // quoted identifiers
    ['SELECT "a?b" FROM t WHERE x = ?', 'SELECT "a?b" FROM t WHERE x = $1', 1],
    ['SELECT "a""?" , ?', 'SELECT "a""?" , $1', 1],
    // comments
    ['SELECT ? -- what?\n, ?', 'SELECT $1 -- what?\n, $2', 2],
    ['SELECT ? -- trailing?', 'SELECT $1 -- trailing?', 1],
    ['SELECT /* ? */ ?', 'SELECT /* ? */ $1', 1],
    ['SELECT /* a /* nested ? */ still ? */ ?', 'SELECT /* a /* nested ? */ still ? */ $1', 1],
    // dollar quoting, tagged and not, and identifiers with $ in them
    ['SELECT $$?$$, ?', 'SELECT $$?$$, $1', 1],
    ['SELECT $q$ it is ? $q$, ?', 'SELECT $q$ it is ? $q$, $1', 1],
    ['SELECT a$b, ?', 'SELECT a$b, $1', 1],
    // an unterminated literal swallows the rest (PostgreSQL will reject the query anyway)
    ["SELECT 'open ?", "SELECT 'open ?", 0],
    ['SELECT /* open ?', 'SELECT /* open ?', 0],
    // minus and slash that start no comment
    ['SELECT ? - 1, ? / 2', 'SELECT $1 - 1, $2 / 2', 2],
    // non-ASCII text around placeholders
    ["SELECT 'Ünïcødé ?', ? AS ü", "SELECT 'Ünïcødé ?', $1 AS ü", 1],
  ];
  it.each(cases)('%j', (sql, text, count) => {
    expect(numberPlaceholders(sql)).toEqual({ text, count });
  });

  it('toPostgres refuses a parameter count that does not match, with a code', () => {
    expect(() => toPostgres('SELECT ?', [])).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(/1 placeholder.*0 parameter/) }));
    expect(() => toPostgres('SELECT 1', [1])).toThrow(/0 placeholder/);
    expect(toPostgres('SELECT ?, ?', [1, 'a'])).toBe('SELECT $1, $2');
    // PostgreSQL text cannot hold NUL: a clear 400, never a driver error that becomes a 500.
    expect(() => toPostgres('SELECT id FROM groups WHERE id = ?', ['a\u0000b'])).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/NUL character/) }));
    // cached: the same answer the second time
    expect(toPostgres('SELECT ?, ?', [1, 'a'])).toBe('SELECT $1, $2');
  });
});

describe('change payloads', () => {
  const origin = '0b6a6a52-6c1c-4f63-9f32-0a7e9c4f6a11';

  it('nothing to announce: no notification', () => {
    expect(encodeChanges(origin, [])).toEqual([]);
  });

  it('a few ids: one payload, deduplicated, order kept', () => {
    const p = encodeChanges(origin, ['b', 'a', 'b']);
    expect(p).toHaveLength(1);
    expect(decodeChanges(p[0])).toEqual({ origin, ids: ['b', 'a'], kind: 'entitlement' });
  });

  it(`${MAX_NAMED_IDS} ids: every payload under the limit, all ids exactly once, in order; one more is 'all'`, () => {
    const ids = Array.from({ length: MAX_NAMED_IDS }, (_, i) => `dev-${i.toString(36)}-${'x'.repeat(i % 40)}-ü`);
    expect(encodeChanges(origin, [...ids, 'one-more']).map(decodeChanges)).toEqual([{ origin, ids: 'all', kind: 'entitlement' }]);
    const p = encodeChanges(origin, ids);
    expect(p.length).toBeGreaterThan(50);
    for (const s of p) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const back = p.flatMap((s) => decodeChanges(s)!.ids as string[]);
    expect(back).toEqual(ids);
    // chunks are reasonably full (not one id each)
    expect(p.length).toBeLessThan(Buffer.byteLength(JSON.stringify(ids)) / (MAX_PAYLOAD_BYTES * 0.8));
  });

  it('exact fit: a payload may reach, never exceed, the limit', () => {
    for (let max = 80; max < 140; max++) {
      const p = encodeChanges(origin, ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff'], max);
      for (const s of p) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(max);
      expect(p.flatMap((s) => decodeChanges(s)!.ids as string[])).toEqual(['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff']);
    }
  });

  it("an id too large for any payload turns the announcement into 'all'", () => {
    const p = encodeChanges(origin, ['a', 'x'.repeat(MAX_PAYLOAD_BYTES)]);
    expect(p.map(decodeChanges)).toEqual([{ origin, ids: 'all', kind: 'entitlement' }]);
  });

  it('decode rejects what is not a change payload', () => {
    for (const bad of ['', 'nope', '[]', 'null', '{"ids":[]}', '{"origin":1,"ids":[]}', '{"origin":"o","ids":[1]}', '{"origin":"o","ids":"some"}',
      '{"origin":"o","kind":"root","ids":["a"]}', '{"origin":"o","kind":7,"ids":["a"]}']) {
      expect(decodeChanges(bad)).toBeUndefined();
    }
    expect(decodeChanges('{"origin":"o","ids":"all"}')).toEqual({ origin: 'o', ids: 'all', kind: 'entitlement' });
  });

  it('a kind other than entitlement travels with its ids, also when chunked and as all', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `dev_${i}`);
    const p = encodeChanges('o', ids, 600, 'device-key');
    expect(p.length).toBeGreaterThan(1);
    for (const s of p) expect(decodeChanges(s)!.kind).toBe('device-key');
    expect(p.flatMap((s) => decodeChanges(s)!.ids as string[])).toEqual(ids);
    expect(encodeChanges('o', ['x'.repeat(700)], 600, 'admin-access').map(decodeChanges)).toEqual([{ origin: 'o', ids: 'all', kind: 'admin-access' }]);
  });
});
