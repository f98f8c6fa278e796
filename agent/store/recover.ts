// Opening the agent's database for writing when it may be damaged. agent.db is
// a cache: the pinned keys and the seq watermark live outside it, and the
// entitlement comes back with the next sync. So a file that SQLite cannot
// open, or that fails its check, is moved aside (kept 0600 for a post-mortem,
// at most KEEP_DAMAGED sets) and replaced with a fresh one, instead of leaving
// the agent crash-looping while the apps keep whatever mode they last had.
// Only writers (the daemon, one-shot refresh/enroll) recover.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import { checkDb, damageCode, DatabaseDamagedError, openDb, type DamageCode, type Db } from './db.ts';
import { Store } from './store.ts';

export const KEEP_DAMAGED = 3;

export interface Recovery {
  code: DamageCode;
  detail: string;
  /** Where the damaged files went (empty when there was nothing to keep). */
  movedTo: string[];
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}

/** Moves path, -wal and -shm together to `<name>.corrupt-<stamp>[-wal|-shm]`, 0600. */
function moveAside(path: string, nowMs: number): string[] {
  let target = `${path}.corrupt-${stamp(nowMs)}`;
  for (let i = 1; existsSync(target) || existsSync(`${target}-wal`); i++) target = `${path}.corrupt-${stamp(nowMs)}.${i}`;
  const moved: string[] = [];
  for (const suffix of ['', '-wal', '-shm']) {
    if (!existsSync(path + suffix)) continue;
    renameSync(path + suffix, target + suffix);
    if (process.platform !== 'win32') chmodSync(target + suffix, 0o600);
    moved.push(target + suffix);
  }
  return moved;
}

/** Keeps the `keep` most recently moved-aside sets and deletes the others; returns what it deleted. */
export function pruneDamaged(path: string, keep = KEEP_DAMAGED): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.corrupt-`;
  const sets = new Map<string, string[]>();
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const base = name.replace(/-(wal|shm)$/, '');
    sets.set(base, [...(sets.get(base) ?? []), name]);
  }
  // By ctime (set by the rename), not by the name: the agent's clock may have been wrong.
  const when = (base: string) => {
    for (const name of sets.get(base)!) {
      try { return statSync(join(dir, name)).ctimeMs; } catch { /* gone meanwhile */ }
    }
    return 0;
  };
  const order = [...sets.keys()].map((base) => ({ base, t: when(base) })).sort((a, b) => b.t - a.t || (a.base < b.base ? 1 : -1));
  const removed: string[] = [];
  for (const { base } of order.slice(keep)) {
    for (const name of sets.get(base)!) {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

/** The file's identity (device and inode), or null when it is gone: tells a replaced file from the one opened. */
export function fileId(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Opens the existing file and checks it, without migrating; null when sound. */
function diagnose(path: string): { code: DamageCode; detail: string } | null {
  let db: Db | null = null;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return checkDb(db);
  } catch (e) {
    const code = damageCode(e);
    if (!code) throw e;
    return { code, detail: (e as Error).message };
  } finally {
    db?.close();
  }
}

/**
 * Opens (creating or migrating) the database for writing, rebuilding it when
 * it is damaged. `expectData`: the device has synced before (its watermark
 * exists), so a missing database is a loss to report, not a first start. The
 * caller records the returned recovery in the new database and in the log.
 */
export function openDbRecovering(path: string, opts: { nowMs: number; expectData: boolean; keep?: number }): { db: Db; recovery: Recovery | null } {
  let recovery: Recovery | null = null;
  if (!existsSync(path)) {
    // A -wal without its database belongs to a file that is gone: SQLite must not pair it with the new one.
    const leftovers = existsSync(`${path}-wal`) || existsSync(`${path}-shm`);
    if (opts.expectData || leftovers) {
      recovery = { code: 'DB_MISSING', detail: 'the database file was missing', movedTo: leftovers ? moveAside(path, opts.nowMs) : [] };
    }
  } else {
    const before = fileId(path);
    const damage = diagnose(path);
    // Another writer may have rebuilt it meanwhile: move only the file that was judged.
    if (damage && fileId(path) === before) recovery = { ...damage, movedTo: moveAside(path, opts.nowMs) };
  }
  for (let attempt = 0; ; attempt++) {
    if (recovery?.movedTo.length) pruneDamaged(path, opts.keep ?? KEEP_DAMAGED);
    try {
      return { db: openDb(path), recovery };
    } catch (e) {
      const code = damageCode(e);
      if (!code) throw e;
      // Readable but not writable as a database (e.g. a torn header): once more from scratch.
      if (attempt > 0) throw new DatabaseDamagedError(path, code, (e as Error).message);
      recovery = { code, detail: (e as Error).message, movedTo: moveAside(path, opts.nowMs) };
    }
  }
}

/**
 * The writers' way to open the store: rebuilds a damaged database, records
 * why in the new one (event `database-recovered`) and says so in the log.
 */
export function openStoreRecovering(paths: { db: string; watermark: string }, nowMs: number, log: Logger): { store: Store; recovery: Recovery | null } {
  const { db, recovery } = openDbRecovering(paths.db, { nowMs, expectData: existsSync(paths.watermark) });
  const store = new Store(db);
  if (recovery) {
    store.addEvent(nowMs, 'database-recovered', recovery.code, { detail: recovery.detail, movedTo: recovery.movedTo });
    log.error({ reason: recovery.code, detail: recovery.detail, movedTo: recovery.movedTo },
      recovery.code === 'DB_MISSING'
        ? 'agent database was missing: created a new one; read-only until the entitlement is fetched again'
        : `agent database was damaged: moved it to ${recovery.movedTo[0] ?? '(nothing to keep)'} and created a new one; read-only until the entitlement is fetched again`);
  }
  return { store, recovery };
}
