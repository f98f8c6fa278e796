// A directory sync's database half on an in-process SQLite store: members of
// each directory group become exactly the devices its computers match
// (added in a stable order, removed when gone), retired devices and
// ambiguous hostnames are left out, and the counts say so.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import { createStore, type Store } from '../../service/store/store.ts';
import { applyMembers } from '../../service/directories/sync.ts';
import type { Computer } from '../../service/directories/match.ts';

let store: Store;
const AT = '2026-12-03T00:00:00.000Z';
const pc = (cn: string, dns: string | null = null): Computer => ({ dn: `cn=${cn},ou=pcs`, cn, dnsHostName: dns });

beforeEach(async () => {
  store = createStore(openSqlite(join(mkdtempSync(join(tmpdir(), 'devlic-dir-apply-')), 'devlic.db')));
  await store.transaction(async (tx) => {
    for (const [id, host] of [['dev_c', 'lab-1'], ['dev_a', 'lab-2'], ['dev_b', 'lab-3'], ['dev_t1', 'twin'], ['dev_t2', 'twin'], ['dev_r', 'retired-1']]) {
      await tx.devices.insert({ id, name: host, machineIdHash: id, hardwareUuid: '', facts: JSON.stringify({ hostname: host }), publicKey: '{}', enrolledAt: AT, duplicateOf: null });
    }
    await tx.devices.retire('dev_r', AT, { id: 'system', name: 'test' }, 'admin');
    await tx.groups.insert('grp_x', 'X', AT);
    await tx.groups.insert('grp_y', 'Y', AT);
  });
});
afterEach(async () => { await store.close(); });

const membersOf = (g: string) => store.rules.membersOf(g, 100).then((m) => m.map((d) => d.id));

describe('applyMembers', () => {
  it('sets each group to the devices its computers match, in id order, leaving out retired devices and ambiguous hostnames', async () => {
    const r = await store.transaction((tx) => applyMembers(tx, new Map([
      ['grp_x', [pc('lab-2'), pc('lab-1'), pc('twin'), pc('retired-1'), pc('nobody')]],
      ['grp_y', [pc('X9', 'LAB-3.corp.example')]],
    ]), AT));
    expect(r).toMatchObject({ computers: 6, matched: 3, unmatched: 2, ambiguous: 1, added: 3, removed: 0 });
    expect(r.ambiguousList).toEqual([{ dn: 'cn=twin,ou=pcs', hostname: 'twin', devices: ['dev_t1', 'dev_t2'] }]);
    expect(await membersOf('grp_x')).toEqual(['dev_a', 'dev_c']);
    expect(await membersOf('grp_y')).toEqual(['dev_b']);
  });

  it('on the next sync adds and removes only the difference, and counts it', async () => {
    await store.transaction((tx) => applyMembers(tx, new Map([['grp_x', [pc('lab-1'), pc('lab-2')]]]), AT));
    const r = await store.transaction((tx) => applyMembers(tx, new Map([['grp_x', [pc('lab-2'), pc('lab-3')]]]), AT));
    expect(r).toMatchObject({ added: 1, removed: 1 });
    expect(await membersOf('grp_x')).toEqual(['dev_a', 'dev_b']);
    const again = await store.transaction((tx) => applyMembers(tx, new Map([['grp_x', [pc('lab-2'), pc('lab-3')]]]), AT));
    expect(again).toMatchObject({ added: 0, removed: 0 });
    const empty = await store.transaction((tx) => applyMembers(tx, new Map([['grp_x', []]]), AT));
    expect(empty).toMatchObject({ added: 0, removed: 2, computers: 0 });
    expect(await membersOf('grp_x')).toEqual([]);
  });
});
