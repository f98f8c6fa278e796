// The fleet-scale paths of the rule recompute, on an in-process SQLite store:
// the enrollment facts taken out of the JSON by SQLite give the same
// memberships as parsing the JSON (factsOf), a malformed facts document makes
// the loader fall back to parsing (that device matches nothing, the others
// still do), the bulk membership writes keep the given order and skip
// members, and a rule that reads no enrollment fact needs no JSON at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStore, type Store } from '../../service/store/store.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { openSqlDatabase } from '../../service/store/open.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { factsOf, loadFacts, ruleMatches, syncRuleMembership } from '../../service/licensing/rule-membership.ts';
import { factsRead, parseRule, type RuleFact } from '../../shared/rules/index.ts';
import { seedFleet } from '../../bench/seed-fleet.ts';
import { tempDir } from '../helpers/processes.ts';

let db: SqlDatabase;
let store: Store;
const AT = '2026-12-03T00:00:00.000Z';

beforeAll(async () => {
  const dataDir = join(tempDir('rule-recompute'), 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  db = await openSqlDatabase({ dataDir, database: null, databasePoolSize: 1 });
  store = createStore(db);
  await seedCatalogue(store, AT);
  await seedFleet(db, { devices: 30, groups: 3 });
  await db.run("UPDATE devices SET agent_version = '1.0.0', os_version = '12' WHERE id LIKE '%1'");
  await db.run("INSERT INTO device_tags (device_id, tag, added_at) SELECT id, 'lab', ? FROM devices WHERE id LIKE '%2'", [AT]);
  await db.run("INSERT INTO groups (id, name, created_at, rule) VALUES ('grp_r', 'R', ?, ?)", [AT, 'hostname like "host-1*" or tags == "lab" or osVersion == "12"']);
});
afterAll(async () => { await db?.close(); });

async function reference(rule: string): Promise<Set<string>> {
  const rows = await store.rules.facts();
  const tags = await store.rules.tags();
  const devices = rows.map((r) => ({ id: r.id, facts: factsOf(r, tags.filter((t) => t.device_id === r.id).map((t) => t.tag)) }));
  return ruleMatches([{ id: 'g', node: parseRule(rule) }], devices).get('g')!;
}

describe('rule recompute at scale (SQLite paths)', () => {
  it('facts taken out by SQLite equal the parsed JSON, for every fact', async () => {
    const all = new Set<RuleFact>(['hostname', 'os', 'manufacturer', 'model', 'serial', 'agentVersion', 'osVersion', 'tags']);
    const viaSql = await loadFacts(store, undefined, all);
    const tags = await store.rules.tags();
    const viaJson = (await store.rules.facts()).map((r) => ({ id: r.id, facts: factsOf(r, tags.filter((t) => t.device_id === r.id).map((t) => t.tag)) }));
    expect(viaSql).toEqual(viaJson);
    expect(viaSql.filter((d) => d.facts.tags!.length > 0)).toHaveLength(3);
  });

  it('syncRuleMembership writes exactly the reference matches, in bulk, and reports the counts', async () => {
    const rule = 'hostname like "host-1*" or tags == "lab" or osVersion == "12"';
    const want = await reference(rule);
    expect(want.size).toBeGreaterThan(5);
    const r = await store.transaction((tx) => syncRuleMembership(tx, AT, { groupId: 'grp_r' }));
    expect(r).toEqual({ added: want.size, removed: 0 });
    const have = new Set((await store.rules.members(['grp_r'])).map((m) => m.device_id));
    expect(have).toEqual(want);
    // A narrower rule: the difference leaves, nobody joins; run again, nothing moves.
    await db.run("UPDATE groups SET rule = 'tags == \"lab\"' WHERE id = 'grp_r'");
    const narrow = await reference('tags == "lab"');
    expect(await store.transaction((tx) => syncRuleMembership(tx, AT, { groupId: 'grp_r' }))).toEqual({ added: 0, removed: want.size - narrow.size });
    expect(await store.transaction((tx) => syncRuleMembership(tx, AT, { groupId: 'grp_r' }))).toEqual({ added: 0, removed: 0 });
  });

  it('a malformed facts document: the loader falls back to parsing, that device matches nothing, the others still do', async () => {
    await db.run("UPDATE devices SET facts = '{not json' WHERE id = 'dev_fleet_10'");
    await expect(store.rules.extractedFacts(['hostname'])).rejects.toThrow();
    const devices = await loadFacts(store, undefined, factsRead(parseRule('hostname like "host-1*"')));
    expect(devices.find((d) => d.id === 'dev_fleet_10')!.facts.hostname).toBeNull();
    expect(devices.find((d) => d.id === 'dev_fleet_11')!.facts.hostname).toBe('host-11');
    await db.run("UPDATE groups SET rule = 'hostname like \"host-1*\"' WHERE id = 'grp_r'");
    await store.transaction((tx) => syncRuleMembership(tx, AT, { groupId: 'grp_r' }));
    const have = new Set((await store.rules.members(['grp_r'])).map((m) => m.device_id));
    expect(have.has('dev_fleet_10')).toBe(false);
    expect(have.has('dev_fleet_11')).toBe(true);
  });

  it('bulk membership writes keep the given order (the seat order) and skip members', async () => {
    await db.run("INSERT INTO groups (id, name, created_at) VALUES ('grp_bulk', 'Bulk', ?)", [AT]);
    const ids = ['dev_fleet_5', 'dev_fleet_3', 'dev_fleet_9'];
    expect(await store.transaction((tx) => tx.rules.addMembers('grp_bulk', ids, AT))).toBe(3);
    expect(await store.transaction((tx) => tx.rules.addMembers('grp_bulk', ['dev_fleet_3', 'dev_fleet_4'], AT))).toBe(1);
    expect((await store.rules.membersOf('grp_bulk', 10)).map((m) => m.id)).toEqual([...ids, 'dev_fleet_4']);
    expect(await store.transaction((tx) => tx.rules.removeMembers('grp_bulk', ['dev_fleet_3', 'dev_fleet_7']))).toBe(1);
    expect((await store.rules.membersOf('grp_bulk', 10)).map((m) => m.id)).toEqual(['dev_fleet_5', 'dev_fleet_9', 'dev_fleet_4']);
  });

  it('a rule on versions and tags only reads no enrollment fact', async () => {
    const devices = await loadFacts(store, undefined, factsRead(parseRule('agentVersion == "1.0.0" and not tags == "x"')));
    expect(devices.every((d) => d.facts.hostname === null && d.facts.os === null)).toBe(true);
    expect(devices.filter((d) => d.facts.agentVersion === '1.0.0').length).toBe(3);
  });
});
