// Seeds a service database directly with a large fleet (devices, groups,
// memberships) so that scale benchmarks can start a real devlic-server on
// it without enrolling 100,000 devices over HTTP first. Devices get random
// (unusable) public keys: the fleet benchmarks measure admin operations.
// Through the store's SqlDatabase on either backend; on PostgreSQL the rows
// go in as arrays (INSERT ... SELECT FROM unnest), 100,000 devices in a few
// round trips instead of 300,000.
import { createHash, randomBytes } from 'node:crypto';
import type { SqlDatabase, SqlTx, SqlValue } from '../service/store/sql.ts';

const BULK = 20_000;

/** Inserts rows into table; on PostgreSQL as one statement per BULK rows, each column an array of its type. */
export async function insertRows(tx: SqlTx, table: string, columns: [name: string, pgType: string][], rows: SqlValue[][]): Promise<void> {
  const names = columns.map(([n]) => n).join(', ');
  if (tx.dialect === 'postgres') {
    for (let i = 0; i < rows.length; i += BULK) {
      const part = rows.slice(i, i + BULK);
      const arrays = columns.map((_, k) => part.map((r) => r[k]) as unknown as SqlValue);
      await tx.run(`INSERT INTO ${table} (${names}) SELECT * FROM unnest(${columns.map(([, t]) => `?::${t}[]`).join(', ')})`, arrays);
    }
    return;
  }
  const sql = `INSERT INTO ${table} (${names}) VALUES (${columns.map(() => '?').join(', ')})`;
  for (const r of rows) await tx.run(sql, r);
}

export async function seedFleet(db: SqlDatabase, opts: { devices: number; groups: number; parentGroup?: string }): Promise<{ groupIds: string[]; parentId: string }> {
  const now = new Date().toISOString();
  const parentId = `grp_fleet_all`;
  const groupIds = Array.from({ length: opts.groups }, (_, i) => `grp_fleet_${i}`);
  const devices: SqlValue[][] = [];
  const members: SqlValue[][] = [];
  const entitlements: SqlValue[][] = [];
  for (let i = 0; i < opts.devices; i++) {
    const id = `dev_fleet_${i}`;
    const host = `host-${i}`;
    const facts = { machineIdHash: createHash('sha256').update(host).digest('hex'), hardwareUuid: '', hostname: host, manufacturer: 'Bench', model: 'Tablet', serial: `SN${i}`, os: 'Linux' };
    devices.push([id, host, facts.machineIdHash, '', JSON.stringify(facts), JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: randomBytes(32).toString('base64url') }), now]);
    members.push([groupIds[i % opts.groups], id, now]);
    entitlements.push([id, 1, 'unlicensed', 'NOT_IN_LICENSED_GROUP', now]);
  }
  await db.transaction(async (tx) => {
    await insertRows(tx, 'groups', [['id', 'text'], ['name', 'text'], ['created_at', 'text']],
      [[parentId, opts.parentGroup ?? 'All devices', now], ...groupIds.map((id, i) => [id, `Fleet group ${i}`, now])]);
    await insertRows(tx, 'group_children', [['parent_id', 'text'], ['child_id', 'text'], ['created_at', 'text']], groupIds.map((id) => [parentId, id, now]));
    await insertRows(tx, 'devices', [['id', 'text'], ['name', 'text'], ['machine_id_hash', 'text'], ['hardware_uuid', 'text'], ['facts', 'text'], ['public_key', 'text'], ['enrolled_at', 'text']], devices);
    await insertRows(tx, 'group_members', [['group_id', 'text'], ['device_id', 'text'], ['added_at', 'text']], members);
    await insertRows(tx, 'device_entitlements', [['device_id', 'text'], ['seq', 'bigint'], ['status', 'text'], ['reason', 'text'], ['changed_at', 'text']], entitlements);
  });
  if (db.dialect === 'postgres') await db.run('ANALYZE');
  return { groupIds, parentId };
}
