// textArrayLiteral (store/postgres/text-array.ts) against the pg driver's own
// array encoding, which it replaces for large id lists: the same literal for
// every string it accepts, null (the driver's path) for the rest.
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { textArrayLiteral } from '../../service/store/postgres/text-array.ts';

const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => string };

it('gives the driver\'s literal for ids, quotes, backslashes, commas, braces, spaces, NULL-like words and non-ASCII', () => {
  const cases: string[][] = [
    [], [''], ['dev_fleet_1', 'dev_fleet_2'], ['a"b', 'c\\d', 'e\\"f', '\\\\'], ['x,y', '{z}', ' sp ace ', 'NULL', 'null'],
    ['é', 'ß', 'Ωmega', '\u007f', '\u2028', '日本'], ["it's", '"', '\\'],
  ];
  // Random strings over a hostile alphabet.
  const alphabet = 'ab"\\,{} \'NUL\u00e9\u2028x';
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let k = 0; k < 200; k++) cases.push(Array.from({ length: 1 + Math.floor(rnd() * 6) }, () =>
    Array.from({ length: Math.floor(rnd() * 8) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('')));
  for (const values of cases) expect(textArrayLiteral(values), JSON.stringify(values)).toBe(pgUtils.prepareValue(values));
});

it('leaves strings JSON would escape differently to the driver', () => {
  for (const bad of ['a\nb', 'tab\there', '\u0000', '\u001f', '\ud83d\ude00', '\ud800']) expect(textArrayLiteral(['ok', bad]), JSON.stringify(bad)).toBeNull();
});
