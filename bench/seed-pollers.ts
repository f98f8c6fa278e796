// Seeds a fresh service data dir with N devices that can really authenticate
// (an Ed25519 key each and a device-signed request token valid 15 minutes), all
// members of one group, so a benchmark can hold thousands of long-polls
// without enrolling each device over HTTP (enrollment is rate-limited per
// address, and would measure something else). Must run before the service
// first starts on the dir; the service then creates its signing key as usual.
// With a PostgreSQL URL the rows go to that database instead (bulk inserts).
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { DEVICE_AUTH_AUDIENCE } from '../shared/api.ts';
import { publicJwk, signDeviceRequestToken } from '../shared/token.ts';
import { openBenchDatabase } from './backend.ts';
import { insertRows } from './seed-fleet.ts';

/** The entitlement seq every seeded device starts at: its ETag is `"1"`. */
export const SEEDED_SEQ = 1;

export interface SeededPollers {
  /** JSON file: [{ deviceId, token }], read by the load-generator workers. */
  tokensFile: string;
  groupName: string;
  ms: number;
}

export async function seedPollers(dataDir: string, n: number, groupName = 'Pollers', database: string | null = null): Promise<SeededPollers> {
  const t0 = performance.now();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = await openBenchDatabase(dataDir, database);
  const at = new Date().toISOString();
  await seedCatalogue(createStore(db), at);
  const devices: { deviceId: string; token: string; jwk: string; privateKey: KeyObject }[] = [];
  for (let i = 0; i < n; i++) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    devices.push({ deviceId: `dev_poll_${i}`, jwk: JSON.stringify(await publicJwk(publicKey)), privateKey, token: '' });
  }
  // Signed after every key is made (key generation is the slow part): the tokens' 15 minutes start when seeding ends,
  // which a 50,000-device fleet that takes minutes to come online needs.
  const now = Math.floor(Date.now() / 1000);
  for (const d of devices) d.token = await signDeviceRequestToken(d.privateKey, d.deviceId, DEVICE_AUTH_AUDIENCE, now, 900);
  const groupId = 'grp_pollers';
  await db.transaction(async (tx) => {
    await tx.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [groupId, groupName, at]);
    await insertRows(tx, 'devices', [['id', 'text'], ['name', 'text'], ['machine_id_hash', 'text'], ['hardware_uuid', 'text'], ['facts', 'text'], ['public_key', 'text'], ['enrolled_at', 'text']],
      devices.map((d, i) => [d.deviceId, `poller-${i}`, createHash('sha256').update(d.deviceId).digest('hex'), '', '{}', d.jwk, at]));
    await insertRows(tx, 'group_members', [['group_id', 'text'], ['device_id', 'text'], ['added_at', 'text']], devices.map((d) => [groupId, d.deviceId, at]));
    await insertRows(tx, 'device_entitlements', [['device_id', 'text'], ['seq', 'bigint'], ['status', 'text'], ['reason', 'text'], ['changed_at', 'text']],
      devices.map((d) => [d.deviceId, SEEDED_SEQ, 'unlicensed', 'NOT_IN_LICENSED_GROUP', at]));
  });
  await db.close();
  const tokensFile = join(dataDir, '..', 'poller-tokens.json');
  writeFileSync(tokensFile, JSON.stringify(devices.map(({ deviceId, token }) => ({ deviceId, token }))), { mode: 0o600 });
  return { tokensFile, groupName, ms: performance.now() - t0 };
}
