// Recovery of a damaged agent database, on real SQLite files: each kind of
// damage is recognised, the damaged files are kept aside (0600, at most a
// few), the new database works, a sound one is left alone, and read-only
// opens report the damage without touching anything.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync, openSync, writeSync, closeSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, openDbReadOnly, DatabaseDamagedError } from '../../agent/store/db.ts';
import { openDbRecovering, openStoreRecovering, pruneDamaged } from '../../agent/store/recover.ts';
import { Store } from '../../agent/store/store.ts';
import { silentLogger } from '../../shared/log.ts';
import { tempDir } from '../helpers/processes.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');

/** A real agent database with enough events to span many pages. */
function makeDb(): { dir: string; path: string } {
  const dir = tempDir('recover');
  const path = join(dir, 'agent.db');
  const s = new Store(openDb(path));
  s.tx(() => { for (let i = 0; i < 1500; i++) s.addEvent(NOW + i, 'sync', 'UNCHANGED', { pad: 'x'.repeat(200) }); });
  s.putEntitlement({ deviceId: 'dev_a', seq: 7, token: 'a.b.c', receivedAt: NOW });
  s.close();
  return { dir, path };
}

function overwrite(path: string, offset: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try { writeSync(fd, bytes, 0, bytes.length, offset); } finally { closeSync(fd); }
}

const aside = (dir: string) => readdirSync(dir).filter((n) => n.includes('.corrupt-')).sort();

describe('openDbRecovering', () => {
  it('leaves a sound database and its data alone', () => {
    const { dir, path } = makeDb();
    const { db, recovery } = openDbRecovering(path, { nowMs: NOW, expectData: true });
    expect(recovery).toBeNull();
    expect(new Store(db).getEntitlement()?.seq).toBe(7);
    db.close();
    expect(aside(dir)).toEqual([]);
  });

  it.each([
    ['garbage over the whole file', (p: string) => writeFileSync(p, Buffer.alloc(64 * 1024, 0x41)), 'DB_NOT_A_DATABASE'],
    ['a file truncated in the middle', (p: string) => truncateSync(p, Math.floor(statSync(p).size / 2)), /DB_CORRUPT|DB_INTEGRITY_FAILED/],
    ['a file truncated inside its header', (p: string) => truncateSync(p, 50), 'DB_CORRUPT'],
    ['pages overwritten in the middle (header intact)', (p: string) => {
      const pages = Math.floor(statSync(p).size / 4096);
      overwrite(p, Math.floor(pages / 2) * 4096, Buffer.alloc(3 * 4096, 0x5a));
    }, /DB_CORRUPT|DB_INTEGRITY_FAILED/],
  ] as const)('moves aside %s and starts afresh', (_name, damage, code) => {
    const { dir, path } = makeDb();
    damage(path);
    const damaged = readFileSync(path);
    const { db, recovery } = openDbRecovering(path, { nowMs: NOW, expectData: true });
    expect(recovery?.code).toMatch(code);
    expect(recovery!.movedTo).toHaveLength(1);
    const moved = recovery!.movedTo[0];
    expect(moved).toBe(`${path}.corrupt-2030-01-01T00-00-00-000Z`);
    // Kept as it was, private.
    expect(readFileSync(moved).equals(damaged)).toBe(true);
    expect(statSync(moved).mode & 0o777).toBe(0o600);
    // The new database is empty, sound and writable.
    const s = new Store(db);
    expect(s.getEntitlement()).toBeNull();
    s.addEvent(NOW, 'reload', null);
    expect(s.integrityCheck()).toEqual(['ok']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    s.close();
    expect(aside(dir)).toEqual([basename(moved)]);
  });

  it('moves a -wal and -shm left without their database aside with it', () => {
    const { dir, path } = makeDb();
    const s = new Store(openDb(path));
    s.db.pragma('wal_autocheckpoint = 0');
    s.addEvent(NOW, 'reload', null);
    // Copies taken while open: what a kill -9 leaves behind.
    copyFileSync(`${path}-wal`, join(dir, 'w'));
    copyFileSync(`${path}-shm`, join(dir, 's'));
    s.close();
    rmSync(path);
    copyFileSync(join(dir, 'w'), `${path}-wal`);
    copyFileSync(join(dir, 's'), `${path}-shm`);
    const { db, recovery } = openDbRecovering(path, { nowMs: NOW, expectData: false });
    expect(recovery?.code).toBe('DB_MISSING');
    expect(recovery!.movedTo.map(basename)).toEqual(['agent.db.corrupt-2030-01-01T00-00-00-000Z-wal', 'agent.db.corrupt-2030-01-01T00-00-00-000Z-shm']);
    expect(new Store(db).events({})).toEqual([]);
    db.close();
  });

  it('reports a missing database only when the device had synced before', () => {
    const dir = tempDir('recover');
    const first = openDbRecovering(join(dir, 'a.db'), { nowMs: NOW, expectData: false });
    expect(first.recovery).toBeNull();
    first.db.close();
    const lost = openDbRecovering(join(dir, 'b.db'), { nowMs: NOW, expectData: true });
    expect(lost.recovery).toEqual({ code: 'DB_MISSING', detail: expect.any(String), movedTo: [] });
    lost.db.close();
  });

  it('keeps at most three damaged sets, the most recent ones', async () => {
    const { dir, path } = makeDb();
    for (let i = 0; i < 5; i++) {
      writeFileSync(path, Buffer.alloc(8192, 0x41 + i));
      const { db, recovery } = openDbRecovering(path, { nowMs: NOW + i * 1000, expectData: true });
      expect(recovery?.code).toBe('DB_NOT_A_DATABASE');
      db.close();
      await new Promise((r) => setTimeout(r, 20)); // distinct ctimes
    }
    const kept = aside(dir);
    expect(kept).toEqual(['02', '03', '04'].map((s) => `agent.db.corrupt-2030-01-01T00-00-${s}-000Z`));
    expect(readFileSync(join(dir, kept[2]))[0]).toBe(0x41 + 4);
  });

  it('does not treat a file it may not open as damage', () => {
    const dir = tempDir('recover');
    const path = join(dir, 'agent.db');
    mkdirSync(path); // not a file at all: SQLite cannot open it, nothing is moved
    expect(() => openDbRecovering(path, { nowMs: NOW, expectData: true })).toThrow();
    expect(aside(dir)).toEqual([]);
    expect(statSync(path).isDirectory()).toBe(true);
  });

  it('records the recovery as an event in the new database', () => {
    const { path, dir } = makeDb();
    writeFileSync(path, 'not a database at all, just text that is long enough to have a header '.repeat(10));
    const { store, recovery } = openStoreRecovering({ db: path, watermark: join(dir, 'watermark.json') }, NOW, silentLogger());
    expect(recovery?.code).toBe('DB_NOT_A_DATABASE');
    expect(store.events({}).map((e) => [e.type, e.reason, e.fields?.movedTo])).toEqual([['database-recovered', 'DB_NOT_A_DATABASE', recovery!.movedTo]]);
    store.close();
  });
});

describe('openDbReadOnly on a damaged database', () => {
  it.each([
    ['garbage', (p: string) => writeFileSync(p, Buffer.alloc(64 * 1024, 0x41))],
    ['overwritten pages', (p: string) => overwrite(p, Math.floor(statSync(p).size / 4096 / 2) * 4096, Buffer.alloc(3 * 4096, 0x5a))],
  ] as const)('reports %s with a typed error and changes nothing', (_n, damage) => {
    const { dir, path } = makeDb();
    damage(path);
    const before = readFileSync(path);
    let err: unknown;
    try { openDbReadOnly(path)?.close(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DatabaseDamagedError);
    expect((err as DatabaseDamagedError).code).toMatch(/DB_/);
    expect((err as DatabaseDamagedError).hint).toMatch(/devlic-agent run/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(aside(dir)).toEqual([]);
  });
});

describe('pruneDamaged', () => {
  it('ignores unrelated files', () => {
    const dir = tempDir('recover');
    writeFileSync(join(dir, 'agent.db'), '');
    writeFileSync(join(dir, 'watermark.json'), '{}');
    expect(pruneDamaged(join(dir, 'agent.db'), 0)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['agent.db', 'watermark.json']);
  });
});

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
