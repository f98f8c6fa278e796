// The SQLite cache: migrations on a real file, the seq rule, tampering, and
// concurrent read-only access. Tokens are really signed, with a test key.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, openDbReadOnly } from '../../agent/store/db.ts';
import { migrate, SCHEMA_VERSION } from '../../agent/store/migrations.ts';
import { Store } from '../../agent/store/store.ts';
import { evaluate } from '../../agent/decision/evaluate.ts';
import { generateSigningKey, publicJwk, signEntitlement } from '../../shared/token.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import type { StoredIdentity } from '../../agent/store/files.ts';
import { tempDir } from '../helpers/processes.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const s = (ms: number) => Math.floor(ms / 1000);

function claims(over: Partial<EntitlementClaims> = {}): EntitlementClaims {
  return {
    iss: 'devlic-test', sub: 'dev_a', aud: 'devlic-agent', iat: s(NOW), nbf: s(NOW) - 300, exp: s(NOW) + 90 * 86400, seq: 1,
    status: 'licensed', reason: 'ASSIGNED', product: 'P', productName: 'Product', subscription: 'sub_1', group: 'grp_1',
    warnAt: s(NOW) + 80 * 86400, refreshAfter: s(NOW) + 86400, ...over,
  };
}

async function setup() {
  const dir = tempDir('store');
  const key = generateSigningKey();
  const identity: StoredIdentity = {
    version: 1, deviceId: 'dev_a', server: 'http://127.0.0.1:1', issuer: 'devlic-test', audience: 'devlic-agent',
    keys: { keys: [await publicJwk(key.publicKey, key.kid)] },
    facts: { machineIdHash: 'a'.repeat(64), hardwareUuid: '', hostname: 'h', manufacturer: '', model: '', serial: '', os: '' },
    enrolledAt: new Date(NOW).toISOString(), reenrolled: false,
  };
  const path = join(dir, 'agent.db');
  const store = new Store(openDb(path));
  return { dir, key, identity, path, store };
}

describe('migrations', () => {
  it('creates the schema on a new file, in WAL mode, private', async () => {
    const { path, store } = await setup();
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    store.close();
  });

  it('is idempotent on reopen and keeps data', async () => {
    const { path, store } = await setup();
    store.addEvent(NOW, 'reload', 'KEEP', { a: 1 });
    store.close();
    const again = new Store(openDb(path));
    expect(again.events({}).map((e) => e.reason)).toEqual(['KEEP']);
    again.close();
  });

  it('upgrades a database left at an older version step by step', async () => {
    const path = join(tempDir('store'), 'old.db');
    const db = new Database(path);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    db.pragma('user_version = 0');
    for (const t of ['user_entitlements', 'observed_time', 'applied', 'decision', 'trusted_time', 'sync_state', 'sessions', 'events', 'entitlement']) db.prepare(`DROP TABLE ${t}`).run();
    db.close();
    const store = new Store(openDb(path));
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.getEntitlement()).toBeNull();
    store.close();
  });

  it('adds the observed-time mark to a version 1 database, keeping its data', async () => {
    const path = join(tempDir('store'), 'v1.db');
    const db = new Database(path);
    migrate(db);
    db.prepare('DROP TABLE observed_time').run();
    db.prepare('DROP TABLE user_entitlements').run();
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO trusted_time (id, high_water_ms, sync_server_ms, sync_local_ms) VALUES (1, 5, 5, 5)").run();
    db.close();
    const store = new Store(openDb(path));
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.getTrustedTime()).toEqual({ highWaterMs: 5, syncServerMs: 5, syncLocalMs: 5 });
    expect(store.getObservedTime()).toBeNull();
    store.close();
  });

  it('refuses a database from a newer agent instead of corrupting it', () => {
    const path = join(tempDir('store'), 'new.db');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openDb(path)).toThrow(/newer than this agent/);
  });
});

describe('user entitlement cache (issue 16)', () => {
  it('keeps one token per person, never replaced by a lower seq of the same device', async () => {
    const { store } = await setup();
    expect(store.putUserEntitlement({ user: 'alice', deviceId: 'dev_a', seq: 5, token: 't5', receivedAt: NOW })).toBe(true);
    expect(store.putUserEntitlement({ user: 'alice', deviceId: 'dev_a', seq: 4, token: 't4', receivedAt: NOW })).toBe(false);
    // The same seq re-signed later (a fresh exp) replaces it.
    expect(store.putUserEntitlement({ user: 'alice', deviceId: 'dev_a', seq: 5, token: 't5b', receivedAt: NOW + 1 })).toBe(true);
    expect(store.putUserEntitlement({ user: 'bob', deviceId: 'dev_a', seq: 1, token: 'b1', receivedAt: NOW })).toBe(true);
    expect(store.getUserEntitlement('alice')).toMatchObject({ seq: 5, token: 't5b' });
    expect(store.getUserEntitlement('bob')).toMatchObject({ seq: 1, token: 'b1' });
    expect(store.getUserEntitlement('carol')).toBeNull();
  });
});

describe('entitlement cache', () => {
  it('never lets a lower seq replace a higher one', async () => {
    const { store } = await setup();
    expect(store.putEntitlement({ deviceId: 'dev_a', seq: 5, token: 't5', receivedAt: NOW })).toBe(true);
    expect(store.putEntitlement({ deviceId: 'dev_a', seq: 4, token: 't4', receivedAt: NOW })).toBe(false);
    expect(store.putEntitlement({ deviceId: 'dev_a', seq: 5, token: 't5b', receivedAt: NOW })).toBe(false);
    expect(store.getEntitlement()).toMatchObject({ seq: 5, token: 't5' });
    expect(store.putEntitlement({ deviceId: 'dev_a', seq: 6, token: 't6', receivedAt: NOW })).toBe(true);
    expect(store.getEntitlement()).toMatchObject({ seq: 6, token: 't6' });
    store.close();
  });

  it('lets a new device id (re-enrolled as another device) restart the numbering', async () => {
    const { store } = await setup();
    store.putEntitlement({ deviceId: 'dev_a', seq: 9, token: 'a9', receivedAt: NOW });
    expect(store.putEntitlement({ deviceId: 'dev_b', seq: 1, token: 'b1', receivedAt: NOW })).toBe(true);
    expect(store.getEntitlement()).toMatchObject({ deviceId: 'dev_b', seq: 1 });
    store.close();
  });

  it('replaces a row only if it still holds the token the caller found invalid', async () => {
    const { store } = await setup();
    store.putEntitlement({ deviceId: 'dev_a', seq: 99, token: 'forged', receivedAt: NOW });
    expect(store.replaceEntitlement('something-else', { deviceId: 'dev_a', seq: 3, token: 'good', receivedAt: NOW })).toBe(false);
    expect(store.replaceEntitlement('forged', { deviceId: 'dev_a', seq: 3, token: 'good', receivedAt: NOW })).toBe(true);
    expect(store.getEntitlement()).toMatchObject({ seq: 3, token: 'good' });
    store.close();
  });
});

describe('tampering cannot grant full mode', () => {
  it('re-verifies the stored token: full with the genuine token, read-only after edits', async () => {
    const { store, key, identity } = await setup();
    const good = await signEntitlement(key, claims({ seq: 2 }));
    store.putEntitlement({ deviceId: 'dev_a', seq: 2, token: good, receivedAt: NOW });
    const ev = () => evaluate({ identity, store, watermark: { deviceId: 'dev_a', seq: 2, iatMs: NOW }, nowMs: NOW + 1000 });
    expect((await ev()).decision).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });

    // 1. An unlicensed token edited to say "licensed" (payload changed, signature kept).
    const unlicensed = await signEntitlement(key, claims({ seq: 3, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' }));
    const [h, p, sig] = unlicensed.split('.');
    const body = JSON.parse(Buffer.from(p, 'base64url').toString());
    const edited = [h, Buffer.from(JSON.stringify({ ...body, status: 'licensed', reason: 'ASSIGNED' })).toString('base64url'), sig].join('.');
    store.db.prepare('UPDATE entitlement SET token = ?, seq = 3').run(edited);
    expect((await ev()).decision).toMatchObject({ mode: 'read-only', reason: 'TOKEN_INVALID' });

    // 2. A token signed by a key the device never pinned.
    const rogue = generateSigningKey();
    rogue.kid = key.kid;
    store.db.prepare('UPDATE entitlement SET token = ?').run(await signEntitlement(rogue, claims({ seq: 50 })));
    expect((await ev()).decision).toMatchObject({ mode: 'read-only', reason: 'TOKEN_INVALID' });

    // 3. A genuine token of another device.
    store.db.prepare('UPDATE entitlement SET token = ?').run(await signEntitlement(key, claims({ sub: 'dev_other', seq: 50 })));
    expect((await ev()).decision).toMatchObject({ mode: 'read-only', reason: 'TOKEN_OTHER_DEVICE' });

    // 4. A genuine but older token copied back in (replay below the watermark).
    store.db.prepare('UPDATE entitlement SET token = ?').run(await signEntitlement(key, claims({ seq: 1 })));
    expect((await ev()).decision).toMatchObject({ mode: 'read-only', reason: 'TOKEN_REPLAYED' });

    // 5. Garbage.
    store.db.prepare("UPDATE entitlement SET token = 'not.a.token'").run();
    expect((await ev()).decision.mode).toBe('read-only');
    store.close();
  });

  it('a lowered trusted-time record in the db is still bounded by the watermark kept outside it', async () => {
    const { store, key, identity } = await setup();
    const tok = await signEntitlement(key, claims({ seq: 2, iat: s(NOW), exp: s(NOW) + 90 * 86400 }));
    store.putEntitlement({ deviceId: 'dev_a', seq: 2, token: tok, receivedAt: NOW });
    store.recordTrustedTime(NOW + 30 * 86_400_000, NOW + 30 * 86_400_000);
    // Someone winds the clock back 29 days and resets the db's trusted time.
    store.db.prepare('DELETE FROM trusted_time').run();
    const r = await evaluate({ identity, store, watermark: { deviceId: 'dev_a', seq: 2, iatMs: NOW + 30 * 86_400_000 }, nowMs: NOW + 86_400_000 });
    expect(r.decision).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
    store.close();
  });
});

describe('observed-time mark through evaluate()', () => {
  it('writers record it with their decisions; readers (status, doctor) never write', async () => {
    const { store, key, identity } = await setup();
    const tok = await signEntitlement(key, claims({ seq: 1 }));
    store.putEntitlement({ deviceId: 'dev_a', seq: 1, token: tok, receivedAt: NOW });
    store.recordTrustedTime(NOW, NOW);
    store.anchorObservedTime(NOW);
    const wm = { deviceId: 'dev_a', seq: 1, iatMs: NOW };
    const ev = (nowMs: number, record?: boolean) => evaluate({ identity, store, watermark: wm, nowMs: () => nowMs, record });

    // Offline, 91 days on: expired, and (as a writer) recorded at once.
    expect((await ev(NOW + 91 * 86_400_000, false)).decision.reason).toBe('TOKEN_EXPIRED');
    expect(store.getObservedTime()).toEqual({ localMs: NOW, reason: null });
    expect((await ev(NOW + 91 * 86_400_000, true)).decision.reason).toBe('TOKEN_EXPIRED');
    expect(store.getObservedTime()).toEqual({ localMs: NOW + 91 * 86_400_000, reason: 'TOKEN_EXPIRED' });
    // Back to a day after the sync: the mark, read back from the file, makes the clock untrusted.
    const back = await ev(NOW + 86_400_000, true);
    expect(back.decision).toMatchObject({ mode: 'read-only', reason: 'CLOCK_UNTRUSTED' });
    expect(store.getObservedTime()!.localMs).toBe(NOW + 91 * 86_400_000);
    // A successful sync at that local time re-anchors: full again.
    store.recordTrustedTime(NOW + 86_400_000, NOW + 86_400_000);
    store.anchorObservedTime(NOW + 86_400_000);
    expect((await ev(NOW + 86_400_000 + 1000, true)).decision).toMatchObject({ mode: 'full', reason: 'ASSIGNED' });
    store.close();
  });
});

describe('concurrent access', () => {
  it('a read-only connection reads while the writer holds the WAL', async () => {
    const { path, store } = await setup();
    store.addEvent(NOW, 'agent-start', null);
    const ro = openDbReadOnly(path)!;
    const reader = new Store(ro);
    expect(reader.events({}).length).toBe(1);
    store.addEvent(NOW, 'agent-stop', null);
    expect(reader.events({}).map((e) => e.type)).toEqual(['agent-start', 'agent-stop']);
    expect(() => reader.addEvent(NOW, 'reload', null)).toThrow(/readonly/i);
    reader.close();
    store.close();
  });

  it('read-only open of a missing database gives null, of a foreign file an error', () => {
    const dir = tempDir('store');
    expect(openDbReadOnly(join(dir, 'none.db'))).toBeNull();
    const bogus = join(dir, 'bogus.db');
    writeFileSync(bogus, 'this is not sqlite');
    expect(() => openDbReadOnly(bogus)).toThrow();
  });
});

describe('sync state and events', () => {
  it('keeps the etag unless told, and the last success across failures', async () => {
    const { store } = await setup();
    store.recordSync({ at: 1, ok: true, error: null, etag: '"5"' });
    store.recordSync({ at: 2, ok: false, error: 'down' });
    expect(store.getSyncState()).toMatchObject({ lastAttemptAt: 2, lastOk: false, lastError: 'down', lastSuccessAt: 1, etag: '"5"' });
    store.recordSync({ at: 3, ok: true, error: null, etag: null });
    expect(store.getSyncState()).toMatchObject({ lastSuccessAt: 3, etag: null });
    store.close();
  });

  it('raises the trusted high water mark but never lowers it', async () => {
    const { store } = await setup();
    store.recordTrustedTime(1000, 1000);
    store.recordTrustedTime(500, 2000);
    expect(store.getTrustedTime()).toEqual({ highWaterMs: 1000, syncServerMs: 500, syncLocalMs: 2000 });
    store.close();
  });

  it('raises the observed-time mark only upwards; a sync re-anchors it up or down', async () => {
    const { store, path } = await setup();
    expect(store.getObservedTime()).toBeNull();
    store.raiseObservedTime({ localMs: 1000, reason: 'ASSIGNED' });
    store.raiseObservedTime({ localMs: 500, reason: 'CLOCK_UNTRUSTED' });
    expect(store.getObservedTime()).toEqual({ localMs: 1000, reason: 'ASSIGNED' });
    store.raiseObservedTime({ localMs: 9000, reason: 'TOKEN_EXPIRED' });
    // Another writer (a one-shot refresh) holding an older reading cannot lower it.
    const other = new Store(openDb(path));
    other.raiseObservedTime({ localMs: 2000, reason: 'ASSIGNED' });
    other.close();
    expect(store.getObservedTime()).toEqual({ localMs: 9000, reason: 'TOKEN_EXPIRED' });
    store.anchorObservedTime(3000);
    expect(store.getObservedTime()).toEqual({ localMs: 3000, reason: null });
    store.anchorObservedTime(4000);
    expect(store.getObservedTime()).toEqual({ localMs: 4000, reason: null });
    store.close();
  });

  it('prunes old events only', async () => {
    const { store } = await setup();
    store.addEvent(1, 'agent-start', null);
    store.addEvent(10, 'agent-stop', null);
    expect(store.pruneEvents(5)).toBe(1);
    expect(store.events({}).map((e) => e.type)).toEqual(['agent-stop']);
    store.close();
  });
});

describe('commits without an fsync (txRelaxed)', () => {
  it('keeps what it wrote, goes back to FULL after, also when the work throws, and inside a transaction is part of it', () => {
    const dir = tempDir('store-relaxed');
    const path = join(dir, 'agent.db');
    const store = new Store(openDb(path));
    const sync = () => store.db.pragma('synchronous', { simple: true });
    expect(sync()).toBe(2); // FULL
    store.setNextSync(NOW + 55_000);
    store.txRelaxed(() => store.recordSync({ at: NOW, ok: true, error: null }));
    expect(sync()).toBe(2);
    expect(() => store.txRelaxed(() => { store.addEvent(NOW, 'sync', 'UNCHANGED'); throw new Error('boom'); })).toThrow('boom');
    expect(sync()).toBe(2);
    expect(store.events({}).filter((e) => e.reason === 'UNCHANGED')).toHaveLength(0); // rolled back
    expect(() => store.tx(() => { store.txRelaxed(() => store.addEvent(NOW, 'sync', 'UNCHANGED')); throw new Error('outer'); })).toThrow('outer');
    expect(store.events({}).filter((e) => e.reason === 'UNCHANGED')).toHaveLength(0); // part of the outer one
    store.close();
    // Another connection (as `status` opens it) sees the commits.
    const reader = new Store(openDbReadOnly(path)!);
    expect(reader.getSyncState()).toMatchObject({ nextSyncAt: NOW + 55_000, lastSuccessAt: NOW, lastOk: true });
    reader.close();
  });

  it('commits without an fsync only within a minute (durableEveryMs) of the last commit with one', () => {
    const dir = tempDir('store-relaxed');
    const inside = (store: Store) => store.txRelaxed(() => store.db.pragma('synchronous', { simple: true }));
    const store = new Store(openDb(join(dir, 'a.db')));
    expect(inside(store)).toBe(2); // nothing durable yet: FULL
    expect(inside(store)).toBe(1); // right after it: NORMAL
    store.tx(() => store.addEvent(NOW, 'sync', 'UPDATED'));
    expect(inside(store)).toBe(1);
    store.close();
    const strict = new Store(openDb(join(dir, 'b.db')), { durableEveryMs: 0 });
    strict.tx(() => strict.addEvent(NOW, 'sync', 'UPDATED'));
    expect(inside(strict)).toBe(2);
    expect(inside(strict)).toBe(2);
    strict.close();
  });
});
