// The recompute's diff (service/licensing/recompute.ts): which devices' rows a
// recompute rewrites, grouped as moves. Compared on seeded random inputs with
// the per-device loop it replaced (one Map of row lists per group of the
// read, keyed by the answer object), move for move: same old and new answer,
// same ids and rowids in the same order.
import { describe, expect, it } from 'vitest';
import { diff } from '../../service/licensing/recompute.ts';
import type { DeviceEntitlement } from '../../service/licensing/allocate.ts';
import type { DevicesByAnswer } from '../../service/store/queries/devices.ts';
import { mulberry32 as prng } from '../helpers/prng.ts';

function same(old: DevicesByAnswer, e: DeviceEntitlement): boolean {
  return old.status === e.status && old.reason === e.reason && old.product_sku === e.product && old.subscription_id === e.subscription && old.group_id === e.group;
}

/** The loop before: per row, the answer object; a group's changed rows split by it in first-seen order. */
function diffBefore(groups: readonly DevicesByAnswer[], byRow: readonly DeviceEntitlement[]) {
  const moves: { from: DevicesByAnswer; to: DeviceEntitlement; ids: string[]; rows: (number | null)[] | null }[] = [];
  let row = 0;
  for (const g of groups) {
    const split = new Map<DeviceEntitlement, number[]>();
    for (let j = 0; j < g.keys.length; j++) {
      const e = byRow[row++];
      if (g.status !== null && same(g, e)) continue;
      let list = split.get(e);
      if (!list) split.set(e, (list = []));
      list.push(j);
    }
    for (const [e, js] of split) moves.push({ from: g, to: e, ids: js.map((j) => g.ids[j]), rows: g.rows ? js.map((j) => g.rows![j]) : null });
  }
  return moves;
}

const ANSWERS: DeviceEntitlement[] = [
  { status: 'licensed', reason: 'ASSIGNED', product: 'P', subscription: 's1', group: 'g1' },
  { status: 'licensed', reason: 'ASSIGNED', product: 'P', subscription: 's1', group: 'g2' },
  { status: 'licensed', reason: 'ASSIGNED', product: 'Q', subscription: 's2', group: 'g1' },
  { status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP', product: null, subscription: null, group: null },
  { status: 'unlicensed', reason: 'SEATS_EXHAUSTED', product: 'P', subscription: 's1', group: 'g1' },
  { status: 'unlicensed', reason: 'DEVICE_DISABLED', product: null, subscription: null, group: null },
];

function randomCase(rnd: () => number, sqlite: boolean) {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const answers = ANSWERS.filter(() => rnd() < 0.7);
  if (answers.length === 0) answers.push(ANSWERS[3]);
  const groups: DevicesByAnswer[] = [];
  const answerOfRow: number[] = [];
  let id = 0;
  for (let n = int(0, 8); n > 0; n--) {
    const held = rnd() < 0.2 ? null : ANSWERS[int(0, ANSWERS.length - 1)];
    const size = rnd() < 0.1 ? 0 : int(1, 30);
    const ids = Array.from({ length: size }, () => `d${id++}`);
    groups.push({
      status: held?.status ?? null, reason: held?.reason ?? null, product_sku: held?.product ?? null, subscription_id: held?.subscription ?? null,
      group_id: held?.group ?? null, disabled: 0, retired: 0, keys: ids.map((_, j) => id * 10 + j), ids,
      rows: sqlite ? ids.map(() => (held ? int(1, 1e6) : null)) : null,
    });
    // All rows to one answer now and then (the shortcut that moves the group's own arrays), else a mix.
    const one = rnd() < 0.3 ? int(0, answers.length - 1) : -1;
    for (let j = 0; j < size; j++) answerOfRow.push(one >= 0 ? one : int(0, answers.length - 1));
  }
  return { groups, answers, answerOfRow: Int32Array.from(answerOfRow) };
}

describe('recompute diff', () => {
  it('gives the same moves as the per-device loop on 3000 seeded random reads, both backends\' shapes', () => {
    let whole = 0, split = 0, none = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const c = randomCase(prng(seed), seed % 2 === 0);
      const got = diff(c.groups, c.answers, c.answerOfRow);
      const want = diffBefore(c.groups, Array.from(c.answerOfRow, (a) => c.answers[a]));
      expect(got.map((m) => ({ ...m, ids: [...m.ids] })), `seed ${seed}`).toEqual(want);
      for (const m of got) expect(m.from, `seed ${seed}: from is the read's own group`).toBe(c.groups.find((g) => g === m.from));
      if (got.length === 0) none++;
      if (got.some((m) => m.ids === m.from.ids)) whole++;
      if (got.some((m) => m.ids !== m.from.ids)) split++;
    }
    // The generator reaches every path.
    expect(none).toBeGreaterThan(50);
    expect(whole).toBeGreaterThan(300);
    expect(split).toBeGreaterThan(300);
  });

  it('leaves a group holding its new answer out, and moves a group with no row yet whole', () => {
    const g = (status: string | null, ids: string[]): DevicesByAnswer => ({
      status, reason: status ? 'ASSIGNED' : null, product_sku: status ? 'P' : null, subscription_id: status ? 's1' : null, group_id: status ? 'g1' : null,
      disabled: 0, retired: 0, keys: ids.map((_, j) => j), ids, rows: null,
    });
    const groups = [g('licensed', ['a', 'b']), g(null, ['c', 'd'])];
    const moves = diff(groups, [ANSWERS[0]], Int32Array.from([0, 0, 0, 0]));
    expect(moves).toEqual([{ from: groups[1], to: ANSWERS[0], ids: ['c', 'd'], rows: null }]);
  });
});
