// intArrayLiteral (store/postgres/text-array.ts) against the pg driver's own
// encoding of a number array: the same elements (the driver quotes each one,
// which PostgreSQL reads the same as bare digits), NULL for null, and null
// (the driver's path) for anything that is not a safe whole number.
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { intArrayLiteral } from '../../service/store/postgres/text-array.ts';

const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => string };

it('gives the driver\'s elements, unquoted, for whole numbers and nulls', () => {
  const cases: (number | null)[][] = [[], [0], [1, 2, 3], [null], [5, null, 7], [-1, 1_780_000_000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER], [null, null]];
  for (const values of cases) {
    const ours = intArrayLiteral(values);
    expect(ours, JSON.stringify(values)).toBe(pgUtils.prepareValue(values).replaceAll('"', ''));
  }
  expect(intArrayLiteral([1_780_000_000, null, 42])).toBe('{1780000000,NULL,42}');
});

it('leaves fractions, non-finite and unsafe numbers to the driver', () => {
  for (const bad of [1.5, NaN, Infinity, -Infinity, 2 ** 53, 1e300]) expect(intArrayLiteral([1, bad]), String(bad)).toBeNull();
});
