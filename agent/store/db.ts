// Opens the agent's SQLite file (<dataDir>/agent.db). The daemon and one-shot
// commands (enroll, refresh) open it read-write: WAL, FULL sync (a crash must
// not lose a cached entitlement or an event; the few records the next sync
// writes again commit without an fsync: store.ts txRelaxed), a busy timeout so the CLI and the
// daemon can write concurrently. status/logs/doctor open it read-only, which
// WAL allows while the daemon writes. Writers go through recover.ts, which
// rebuilds a damaged file; here damage is only recognised and reported.
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import { AgentError } from '../errors.ts';

export type Db = Database.Database;

export type DamageCode = 'DB_NOT_A_DATABASE' | 'DB_CORRUPT' | 'DB_INTEGRITY_FAILED' | 'DB_MISSING';

/** The database cannot be trusted; the agent rebuilds it when it starts. */
export class DatabaseDamagedError extends AgentError {
  readonly code: DamageCode;

  constructor(path: string, code: DamageCode, detail: string) {
    super(`agent database ${path} is damaged (${code}: ${detail})`,
      "it is a cache: the agent rebuilds it and re-syncs when it starts (restart the devlic-agent service, or run 'devlic-agent run')");
    this.name = 'DatabaseDamagedError';
    this.code = code;
  }
}

/** SQLite errors that mean "the file's content is bad", as opposed to busy, permissions or a full disk. */
export function damageCode(e: unknown): DamageCode | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (code === 'SQLITE_NOTADB') return 'DB_NOT_A_DATABASE';
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) return 'DB_CORRUPT';
  return null;
}

/**
 * Checks an open database page by page; null when sound, else why.
 * quick_check skips only the index-vs-table cross-check: it finds torn or
 * overwritten pages, and is cheap on a cache of a few MB.
 */
export function checkDb(db: Db): { code: DamageCode; detail: string } | null {
  try {
    const msgs = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
    if (msgs.length === 1 && msgs[0] === 'ok') return null;
    return { code: 'DB_INTEGRITY_FAILED', detail: msgs.slice(0, 3).join('; ') };
  } catch (e) {
    const code = damageCode(e);
    if (!code) throw e;
    return { code, detail: (e as Error).message };
  }
}

export function openDb(path: string): Db {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  if (process.platform !== 'win32') {
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      if (existsSync(f)) chmodSync(f, 0o600);
    }
  }
  return db;
}

/**
 * Read-only open for status, logs and doctor: null when there is no database
 * yet, DatabaseDamagedError when it is unusable. Never repairs anything: the
 * daemon may be running, and it owns recovery.
 */
export function openDbReadOnly(path: string): Db | null {
  if (!existsSync(path)) return null;
  let db: Db | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const damage = checkDb(db);
    if (damage) throw new DatabaseDamagedError(path, damage.code, damage.detail);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      throw new AgentError(`agent database ${path} has schema ${version}, this agent expects ${SCHEMA_VERSION}`, "start the agent ('devlic-agent run') once to migrate it");
    }
    return db;
  } catch (e) {
    db?.close();
    const code = damageCode(e);
    if (code) throw new DatabaseDamagedError(path, code, (e as Error).message);
    throw e;
  }
}
