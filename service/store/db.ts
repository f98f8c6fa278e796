// Opens the service's SQLite database: WAL journal, foreign keys, and the
// migrations in migrations.ts applied in order inside one transaction each.
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

export type DB = Database.Database;

export function openDatabase(file: string, opts: { nativeBinding?: string } = {}): DB {
  const db = new Database(file, opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {});
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged admin change survives power loss, not only a crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: DB): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this devlic-server (${MIGRATIONS.length}); upgrade devlic-server`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
