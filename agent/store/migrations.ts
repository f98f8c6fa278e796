// Explicit, ordered schema migrations for the agent's SQLite cache. The schema
// version lives in PRAGMA user_version; each step runs in one transaction with
// its version bump, so a crash mid-migration leaves the previous version.
// Never edit a released step: append a new one.
import type Database from 'better-sqlite3';
import { AgentError } from '../errors.ts';

export const MIGRATIONS: readonly string[] = [
  // 1: initial schema. Times are integer milliseconds of the agent's clock.
  `
  CREATE TABLE entitlement (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    device_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    token       TEXT    NOT NULL,
    received_at INTEGER NOT NULL
  );
  CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    type   TEXT    NOT NULL,
    reason TEXT,
    fields TEXT
  );
  CREATE INDEX events_at ON events (at);
  CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user       TEXT    NOT NULL,
    line       TEXT    NOT NULL,
    host       TEXT,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    mode       TEXT,
    reason     TEXT
  );
  CREATE INDEX sessions_open ON sessions (ended_at);
  CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    last_attempt_at INTEGER,
    last_ok         INTEGER,
    last_error      TEXT,
    last_success_at INTEGER,
    next_sync_at    INTEGER,
    etag            TEXT
  );
  CREATE TABLE trusted_time (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    high_water_ms  INTEGER NOT NULL,
    sync_server_ms INTEGER,
    sync_local_ms  INTEGER
  );
  CREATE TABLE decision (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    at      INTEGER NOT NULL,
    mode    TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    warning TEXT,
    users   TEXT    NOT NULL
  );
  CREATE TABLE applied (
    enforcer TEXT PRIMARY KEY,
    at       INTEGER NOT NULL,
    mode     TEXT    NOT NULL,
    reason   TEXT    NOT NULL,
    ok       INTEGER NOT NULL,
    changed  INTEGER NOT NULL,
    applied  TEXT    NOT NULL,
    detail   TEXT,
    error    TEXT
  );
  `,
  // 2: the observed-time mark (agent/decision/observed-time.ts): the latest local clock
  // reading the agent recorded since the last sync, and the decision then.
  `
  CREATE TABLE observed_time (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    local_ms INTEGER NOT NULL,
    reason   TEXT
  );
  `,
  // 3: user entitlements (issue 16): the latest verified token per signed-in
  // person (normalised sign-in name), kept like the device's for offline use.
  `
  CREATE TABLE user_entitlements (
    user        TEXT    PRIMARY KEY,
    device_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    token       TEXT    NOT NULL,
    received_at INTEGER NOT NULL
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION; refuses a database from a newer agent. */
export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    // Not damage: a newer agent's cache. Refuse rather than rebuild, so a downgrade is noticed.
    throw new AgentError(`agent database schema ${current} is newer than this agent understands (${SCHEMA_VERSION})`, 'upgrade the agent');
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return SCHEMA_VERSION;
}
