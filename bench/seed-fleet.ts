// Seeds a service database directly with a large fleet (devices, groups,
// memberships) so that scale benchmarks can start a real devlic-server on
// it without enrolling 100,000 devices over HTTP first. Devices get random
// (unusable) public keys: the fleet benchmarks measure admin operations.
import { createHash, randomBytes } from 'node:crypto';
import type { SqlDatabase } from '../service/store/sql.ts';

export async function seedFleet(db: SqlDatabase, opts: { devices: number; groups: number; parentGroup?: string }): Promise<{ groupIds: string[]; parentId: string }> {
  const now = new Date().toISOString();
  const groupIds: string[] = [];
  const parentId = `grp_fleet_all`;
  await db.transaction(async (tx) => {
    await tx.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [parentId, opts.parentGroup ?? 'All devices', now]);
    for (let i = 0; i < opts.groups; i++) {
      const id = `grp_fleet_${i}`;
      await tx.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [id, `Fleet group ${i}`, now]);
      await tx.run('INSERT INTO group_children (parent_id, child_id, created_at) VALUES (?, ?, ?)', [parentId, id, now]);
      groupIds.push(id);
    }
    for (let i = 0; i < opts.devices; i++) {
      const id = `dev_fleet_${i}`;
      const host = `host-${i}`;
      const facts = { machineIdHash: createHash('sha256').update(host).digest('hex'), hardwareUuid: '', hostname: host, manufacturer: 'Bench', model: 'Tablet', serial: `SN${i}`, os: 'Linux' };
      await tx.run(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [id, host, facts.machineIdHash, '', JSON.stringify(facts), JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: randomBytes(32).toString('base64url') }), now]);
      await tx.run('INSERT INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)', [groupIds[i % opts.groups], id, now]);
      await tx.run(`INSERT INTO device_entitlements (device_id, seq, status, reason, changed_at) VALUES (?, 1, 'unlicensed', 'NOT_IN_LICENSED_GROUP', ?)`, [id, now]);
    }
  });
  return { groupIds, parentId };
}
