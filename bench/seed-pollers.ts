// Seeds a fresh service data dir with N devices that can really authenticate
// (an Ed25519 key each and a device-signed request token valid 15 minutes), all
// members of one group, so a benchmark can hold thousands of long-polls
// without enrolling each device over HTTP (enrollment is rate-limited per
// address, and would measure something else). Must run before the service
// first starts on the dir; the service then creates its signing key as usual.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../service/store/sqlite/open.ts';
import { createStore } from '../service/store/store.ts';
import { seedCatalogue } from '../service/licensing/catalogue.ts';
import { DEVICE_AUTH_AUDIENCE } from '../shared/api.ts';
import { publicJwk, signDeviceRequestToken } from '../shared/token.ts';

export interface SeededPollers {
  /** JSON file: [{ deviceId, token }], read by the load-generator workers. */
  tokensFile: string;
  groupName: string;
  ms: number;
}

export async function seedPollers(dataDir: string, n: number, groupName = 'Pollers'): Promise<SeededPollers> {
  const t0 = performance.now();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openSqlite(join(dataDir, 'devlic.db'));
  const at = new Date().toISOString();
  await seedCatalogue(createStore(db), at);
  const now = Math.floor(Date.now() / 1000);
  const devices: { deviceId: string; token: string; jwk: string }[] = [];
  for (let i = 0; i < n; i++) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const deviceId = `dev_poll_${i}`;
    devices.push({
      deviceId, jwk: JSON.stringify(await publicJwk(publicKey)),
      token: await signDeviceRequestToken(privateKey, deviceId, DEVICE_AUTH_AUDIENCE, now, 900),
    });
  }
  const groupId = 'grp_pollers';
  await db.transaction(async (tx) => {
    await tx.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [groupId, groupName, at]);
    for (const [i, d] of devices.entries()) {
      await tx.run(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES (?, ?, ?, '', '{}', ?, ?)`,
        [d.deviceId, `poller-${i}`, createHash('sha256').update(d.deviceId).digest('hex'), d.jwk, at]);
      await tx.run('INSERT INTO group_members (group_id, device_id, added_at) VALUES (?, ?, ?)', [groupId, d.deviceId, at]);
      await tx.run(`INSERT INTO device_entitlements (device_id, seq, status, reason, changed_at) VALUES (?, 1, 'unlicensed', 'NOT_IN_LICENSED_GROUP', ?)`, [d.deviceId, at]);
    }
  });
  await db.close();
  const tokensFile = join(dataDir, '..', 'poller-tokens.json');
  writeFileSync(tokensFile, JSON.stringify(devices.map(({ deviceId, token }) => ({ deviceId, token }))), { mode: 0o600 });
  return { tokensFile, groupName, ms: performance.now() - t0 };
}
