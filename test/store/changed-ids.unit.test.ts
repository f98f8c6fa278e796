// ChangedIds: what a transaction announces per kind, each id once; a list
// declared distinct and alone in its kind passes through without a Set.
import { expect, it } from 'vitest';
import { ChangedIds } from '../../service/store/sql.ts';

it('drops repeats within and across lists, keeps first-seen order, and passes a lone distinct list through as it is', () => {
  const c = new ChangedIds();
  const big = Array.from({ length: 1000 }, (_, i) => `dev_${i}`);
  c.add(big, 'entitlement', true);
  c.add(['a', 'b', 'a'], 'device-key');
  c.add([], 'admin-access', true);
  c.add(['b', 'c'], 'device-key', true);
  const got = new Map(c.entries());
  expect(got.get('entitlement')).toBe(big); // the same array: no copy, no Set
  expect(got.get('device-key')).toEqual(['a', 'b', 'c']);
  expect(got.has('admin-access')).toBe(false);
  // A distinct list joined by another is deduplicated as a whole.
  const d = new ChangedIds();
  d.add(['x', 'y'], 'entitlement', true);
  d.add(['y', 'z'], 'entitlement', true);
  expect(new Map(d.entries()).get('entitlement')).toEqual(['x', 'y', 'z']);
});
