// Opens the agent's SQLite file (<dataDir>/agent.db). The daemon and one-shot
// commands (enroll, refresh) open it read-write: WAL, FULL sync (a crash must
// not lose a cached entitlement or an event), a busy timeout so the CLI and the
// daemon can write concurrently. status/logs/doctor open it read-only, which
// WAL allows while the daemon writes.
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import { AgentError } from '../errors.ts';

export type Db = Database.Database;

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

/** Read-only open for status, logs and doctor; null when there is no database yet. */
export function openDbReadOnly(path: string): Db | null {
  if (!existsSync(path)) return null;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== SCHEMA_VERSION) {
    db.close();
    throw new AgentError(`agent database ${path} has schema ${version}, this agent expects ${SCHEMA_VERSION}`, "start the agent ('devlic-agent run') once to migrate it");
  }
  return db;
}
