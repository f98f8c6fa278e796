// DeviceAuthenticator.cachedDevice, the 304 path's promise-free check: it
// answers only for a token authenticate() verified before, not yet expired,
// under the right scheme; everything else (and after forget()) is left to
// authenticate(). A real SQLite store and real Ed25519 device keys.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { openSqlite } from '../../service/store/sqlite/open.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';
import { createStore } from '../../service/store/store.ts';
import { DeviceAuthenticator } from '../../service/http/device-auth.ts';
import { DEVICE_AUTH_AUDIENCE, DEVICE_AUTH_SCHEME } from '../../shared/api.ts';
import { publicJwk, signDeviceRequestToken } from '../../shared/token.ts';
import { tempDir } from '../helpers/processes.ts';

const NOW = Math.floor(Date.now() / 1000);
let db: SqlDatabase;
let auth: DeviceAuthenticator;
let header: (lifetime?: number, iat?: number) => Promise<string>;

beforeEach(async () => {
  db = openSqlite(join(tempDir('device-auth'), 'devlic.db'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await db.run(`INSERT INTO devices (id, name, machine_id_hash, hardware_uuid, facts, public_key, enrolled_at) VALUES ('dev_a', 'a', 'h', '', '{}', ?, ?)`,
    [JSON.stringify(await publicJwk(publicKey)), new Date().toISOString()]);
  auth = new DeviceAuthenticator(createStore(db));
  header = async (lifetime = 300, iat = NOW) => `${DEVICE_AUTH_SCHEME} ${await signDeviceRequestToken(privateKey, 'dev_a', DEVICE_AUTH_AUDIENCE, iat, lifetime)}`;
});
afterEach(() => db.close());

it('knows nothing before authenticate() verified the token', async () => {
  const h = await header();
  expect(auth.cachedDevice(h, NOW)).toBeUndefined();
  expect(auth.cachedDevice(undefined, NOW)).toBeUndefined();
  expect(await auth.authenticate(h, NOW)).toBe('dev_a');
  expect(auth.cachedDevice(h, NOW)).toBe('dev_a');
  // Another token of the same device is not known until it is verified itself.
  expect(auth.cachedDevice(await header(301), NOW)).toBeUndefined();
});

it('answers only under the scheme authenticate() accepts, and not once the token expired', async () => {
  const h = await header(60);
  await auth.authenticate(h, NOW);
  const jwt = h.slice(DEVICE_AUTH_SCHEME.length + 1);
  expect(auth.cachedDevice(`${DEVICE_AUTH_SCHEME}  ${jwt}`, NOW)).toBe('dev_a'); // authenticate() trims the same way
  for (const bad of [jwt, `Bearer ${jwt}`, `${DEVICE_AUTH_SCHEME.toLowerCase()} ${jwt}`, `${DEVICE_AUTH_SCHEME}${jwt}`]) {
    expect(auth.cachedDevice(bad, NOW)).toBeUndefined();
  }
  expect(auth.cachedDevice(h, NOW + 59)).toBe('dev_a');
  expect(auth.cachedDevice(h, NOW + 60)).toBeUndefined();
});

it('forgets a device whose key changed', async () => {
  const h = await header();
  await auth.authenticate(h, NOW);
  auth.forget('dev_a');
  expect(auth.cachedDevice(h, NOW)).toBeUndefined();
  await auth.authenticate(h, NOW);
  auth.forgetAll();
  expect(auth.cachedDevice(h, NOW)).toBeUndefined();
});
