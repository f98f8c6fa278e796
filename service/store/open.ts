// Picks the service's database from its settings: PostgreSQL when a
// `database` URL is set (replicas share it), else SQLite in the data folder.
// The signing keyring goes with it: in the shared database (sealed with the
// site key in the data folder) for PostgreSQL, in a file beside SQLite's.
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import type { KeyringStore } from '../keyring.ts';
import { databaseKeyring } from '../keyring-db.ts';
import { fileKeyring } from '../keyring-file.ts';
import { openPostgres } from './postgres/open.ts';
import { redactUrl } from './postgres/url.ts';
import { openSqlite } from './sqlite/open.ts';
import type { SqlDatabase } from './sql.ts';
import { createStore, type Store } from './store.ts';

export interface OpenedStore {
  store: Store;
  /** The database under the store: for start-up checks that are no aggregate's business (the cluster primary's connection budget). */
  db: SqlDatabase;
  keyring: KeyringStore;
  /** For the start-up log line: never a password. */
  describe: string;
}

export interface StoreSettings { dataDir: string; database: string | null; databasePoolSize: number }

export async function openSqlDatabase(cfg: StoreSettings, log?: Logger): Promise<SqlDatabase> {
  return cfg.database
    ? openPostgres(cfg.database, { poolSize: cfg.databasePoolSize, log })
    : openSqlite(join(cfg.dataDir, 'devlic.db'));
}

export async function openStore(cfg: StoreSettings, log?: Logger): Promise<OpenedStore> {
  const db = await openSqlDatabase(cfg, log);
  return {
    store: createStore(db),
    db,
    keyring: cfg.database ? databaseKeyring(db, cfg.dataDir) : fileKeyring(cfg.dataDir),
    describe: cfg.database ? `postgres ${redactUrl(cfg.database)}` : `sqlite ${join(cfg.dataDir, 'devlic.db')}`,
  };
}
