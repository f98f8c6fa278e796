// The interned seat allocation (service/licensing/allocate.ts) against the
// Map/Set-keyed version it replaced (allocate-reference.ts): on seeded random
// fleets with nesting (cycles too), several products, expired and suspended
// subscriptions, disabled and retired devices, memberships of unknown
// devices, repeated device ids and tied ords, both must give the same answer
// for every device (in the same order), the same usage per subscription and
// the same reach per assigned group.
import { describe, expect, it } from 'vitest';
import { allocateSeats, allocateSeatsByKey, type AllocInput, type AllocResult, type KeyedAllocInput, type KeyedAllocResult } from '../../service/licensing/allocate.ts';
import { allocateSeatsReference } from './allocate-reference.ts';
import { mulberry32 as prng } from '../helpers/prng.ts';

const NOW = Date.UTC(2025, 0, 15);
const DAY = 86_400_000;
const PRODUCTS = ['M365_APPS_ENTERPRISE_DEVICE', 'M365_APPS_EDUCATION_DEVICE', 'VISIO_DEVICE'];

function randomInput(rnd: () => number, size: number): AllocInput {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const nGroups = int(1, 12);
  const groups = Array.from({ length: nGroups }, (_, i) => `g${i}`);
  const edges: { parent: string; child: string }[] = [];
  for (let c = 1; c < nGroups; c++) for (let p = 0; p < c; p++) if (rnd() < 0.2) edges.push({ parent: groups[p], child: groups[c] });
  if (nGroups > 2 && rnd() < 0.15) edges.push({ parent: groups[nGroups - 1], child: groups[0] });
  if (rnd() < 0.05) edges.push({ parent: groups[0], child: groups[0] });
  const products = PRODUCTS.slice(0, int(1, 3));
  const nSubs = int(0, 5);
  const subscriptions = Array.from({ length: nSubs }, (_, i) => {
    const roll = rnd();
    return {
      id: `s${i}`, productSku: products[int(0, products.length - 1)], seats: int(0, Math.max(1, Math.floor(size / 2))),
      ord: rnd() < 0.1 ? 5 : int(1, 50), // tied ords now and then: the sort must break ties as before
      termEnd: roll < 0.1 ? NOW - int(0, 5) * DAY : roll < 0.3 ? NOW + int(1, 100) * DAY : null,
      suspended: rnd() < 0.1,
    };
  });
  const assignments = nSubs === 0 ? [] : groups.filter(() => rnd() < 0.5).map((g) => ({ subscriptionId: `s${int(0, nSubs - 1)}`, groupId: g }));
  if (nSubs > 0 && rnd() < 0.1) assignments.push({ subscriptionId: `s${int(0, nSubs - 1)}`, groupId: groups[0] }); // a group twice
  const nDevices = int(0, size);
  const devices = Array.from({ length: nDevices }, (_, i) => ({ id: `d${i}`, disabled: rnd() < 0.1, retired: rnd() < 0.05 }));
  if (nDevices > 1 && rnd() < 0.1) devices.push({ ...devices[int(0, nDevices - 1)], disabled: rnd() < 0.5 }); // a repeated id
  const memberships: AllocInput['memberships'] = [];
  let ord = 0;
  for (const d of devices) {
    for (let j = int(0, 3); j > 0; j--) memberships.push({ groupId: groups[int(0, nGroups - 1)], deviceId: d.id, ord: rnd() < 0.05 ? ord : ++ord });
  }
  if (rnd() < 0.2) memberships.push({ groupId: groups[0], deviceId: 'not-enrolled', ord: ++ord });
  // Memberships in a random order, as a database may return them.
  for (let i = memberships.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [memberships[i], memberships[j]] = [memberships[j], memberships[i]];
  }
  return { now: NOW, subscriptions, assignments, edges, memberships, devices };
}

const plain = (r: AllocResult) => ({
  devices: [...r.devices].map(([id, e]) => [id, { ...e }]),
  subscriptions: [...r.subscriptions],
  groupsReached: [...r.groupsReached],
});

describe('allocateSeats agrees with the Map/Set-keyed reference', () => {
  it('on 3000 seeded random fleets of up to 40 devices', () => {
    let licensed = 0, exhausted = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const inp = randomInput(prng(seed), 40);
      const copy = structuredClone(inp);
      const got = allocateSeats(inp);
      expect(inp, `seed ${seed}: input untouched`).toEqual(copy);
      expect(plain(got), `seed ${seed}`).toEqual(plain(allocateSeatsReference(inp)));
      for (const e of got.devices.values()) {
        if (e.status === 'licensed') licensed++;
        if (e.reason === 'SEATS_EXHAUSTED') exhausted++;
      }
    }
    // The generator must reach the interesting cases.
    expect(licensed).toBeGreaterThan(5000);
    expect(exhausted).toBeGreaterThan(1000);
  });

  it('on 20 fleets of up to 3,000 devices', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const inp = randomInput(prng(1000 + seed), 3000);
      expect(plain(allocateSeats(inp)), `seed ${seed}`).toEqual(plain(allocateSeatsReference(inp)));
    }
  });
});

/**
 * The input with each distinct device id given an integer key: dense (a fresh table's rowids) or sparse (after deletes, or past the flat
 * table's range); the devices in groups sharing their flags as a recompute reads them: runs of neighbours with the same flags, cut at random.
 */
function keyed(inp: AllocInput, rnd: () => number, sparse: boolean, grouped = false): KeyedAllocInput {
  const keys = new Map<string, number>();
  let next = Math.floor(rnd() * 10);
  const keyOf = (id: string) => {
    let k = keys.get(id);
    // Sparse keys start below zero now and then: a key the flat table cannot hold must take the Map path, not be lost.
    if (k === undefined) { next += sparse ? 1 + Math.floor(rnd() * 100_000) : 1 + Math.floor(rnd() * 3); keys.set(id, (k = sparse && next % 3 === 0 ? -next : next)); }
    return k;
  };
  const deviceGroups: { keys: number[]; disabled: number; retired: number }[] = [];
  for (const d of inp.devices) {
    const [disabled, retired] = [d.disabled ? 1 : 0, d.retired ? 1 : 0];
    const g = deviceGroups[deviceGroups.length - 1];
    if (g && g.disabled === disabled && g.retired === retired && rnd() < 0.7) g.keys.push(keyOf(d.id));
    else deviceGroups.push({ keys: [keyOf(d.id)], disabled, retired });
  }
  if (rnd() < 0.1) deviceGroups.splice(Math.floor(rnd() * (deviceGroups.length + 1)), 0, { keys: [], disabled: 0, retired: 0 }); // an empty group
  // A membership of a device not in the list gets a key no device has, as a row gone from devices would.
  // Ords as stored, or now and then halved, far apart or past 2^40 (same order and ties): both the counting sort and the comparator's.
  const roll = rnd();
  const ordOf = roll < 0.1 ? (o: number) => o / 2 : roll < 0.2 ? (o: number) => o * 100_000 : roll < 0.3 ? (o: number) => o + 2 ** 40 : (o: number) => o;
  const memberships = inp.memberships.map((m) => ({ groupId: m.groupId, deviceKey: keys.get(m.deviceId) ?? next + 7, ord: ordOf(m.ord) }));
  if (!grouped) return { ...inp, deviceGroups, memberships };
  // Grouped as a recompute loads them: one entry per group, its members in the order listed.
  const groups = new Map<string, { groupId: string; deviceKeys: number[]; ords: number[] }>();
  for (const m of memberships) {
    let g = groups.get(m.groupId);
    if (!g) groups.set(m.groupId, (g = { groupId: m.groupId, deviceKeys: [], ords: [] }));
    g.deviceKeys.push(m.deviceKey);
    g.ords.push(m.ord);
  }
  return { ...inp, deviceGroups, memberships: [], memberGroups: [...groups.values()] };
}

/** The answer at each row of a keyed result. */
const byRow = (r: KeyedAllocResult) => Array.from(r.answerOfRow, (a) => r.answers[a]);

describe('allocateSeatsByKey (integer device keys) agrees with the reference', () => {
  it('on 2000 seeded random fleets of up to 40 devices, keys dense or sparse, memberships flat or grouped, devices in groups', () => {
    let sparseMaps = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const rnd = prng(50_000 + seed);
      const inp = randomInput(rnd, 40);
      const sparse = seed % 2 === 0;
      // Memberships flat, or grouped per group (memberGroups) on every other pair of seeds: both ways with both key kinds.
      const k = keyed(inp, rnd, sparse, seed % 4 >= 2);
      const got = allocateSeatsByKey(k);
      const want = allocateSeatsReference(inp);
      expect(got.answerOfRow.length, `seed ${seed}`).toBe(inp.devices.length);
      const rows = byRow(got);
      inp.devices.forEach((d, row) => expect({ ...rows[row] }, `seed ${seed}, row ${row}`).toEqual({ ...want.devices.get(d.id) }));
      expect([...got.subscriptions], `seed ${seed}`).toEqual([...want.subscriptions]);
      expect([...got.groupsReached], `seed ${seed}`).toEqual([...want.groupsReached]);
      // Equal answers are one object, and every answer is some row's.
      expect(new Set(got.answers.map((a) => JSON.stringify(a))).size, `seed ${seed}`).toBe(got.answers.length);
      expect(new Set(got.answerOfRow).size, `seed ${seed}`).toBe(got.answers.length);
      if (sparse && inp.devices.length > 1) sparseMaps++;
    }
    expect(sparseMaps).toBeGreaterThan(500);
  });

  it('on 10 fleets of up to 3,000 devices', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rnd = prng(60_000 + seed);
      const inp = randomInput(rnd, 3000);
      const rows = byRow(allocateSeatsByKey(keyed(inp, rnd, seed % 2 === 0, seed % 4 >= 2)));
      const want = allocateSeatsReference(inp);
      inp.devices.forEach((d, row) => expect(rows[row], `seed ${seed}, row ${row}`).toEqual(want.devices.get(d.id)));
    }
  });
});
