// Which database the service under test runs on. `npm test` runs the
// service's integration tests twice: on SQLite (project `integration`) and
// on PostgreSQL (project `integration-pg`, DEVLIC_TEST_BACKEND=postgres),
// where pg-global-setup.ts has started one throwaway cluster for the run
// and every new service data folder gets a fresh database of its own.
import { createDatabaseAt } from './pg-database.ts';
import { openSqlDatabase } from '../../service/store/open.ts';
import type { SqlDatabase } from '../../service/store/sql.ts';

export type TestBackend = 'sqlite' | 'postgres';

export const TEST_BACKEND: TestBackend = process.env.DEVLIC_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

/** The database each data folder was given, so a restarted service finds its data again. */
const databases = new Map<string, string>();
let counter = 0;

/** null on SQLite (the file in the data folder); on PostgreSQL the URL of the folder's own database. */
export async function databaseFor(dataDir: string): Promise<string | null> {
  if (TEST_BACKEND === 'sqlite') return null;
  const known = databases.get(dataDir);
  if (known) return known;
  const admin = process.env.DEVLIC_TEST_PG_ADMIN_URL;
  if (!admin) throw new Error('DEVLIC_TEST_BACKEND=postgres but no cluster was started (test/helpers/pg-global-setup.ts sets DEVLIC_TEST_PG_ADMIN_URL)');
  const url = await createDatabaseAt(admin, `svc_${process.pid}_${++counter}_${Date.now().toString(36)}`);
  databases.set(dataDir, url);
  return url;
}

/** The service's own database, opened beside it (for a test that plants a state, e.g. old timestamps). */
export function openServiceDatabase(svc: { dataDir: string; database: string | null }): Promise<SqlDatabase> {
  return openSqlDatabase({ dataDir: svc.dataDir, database: svc.database, databasePoolSize: 1 });
}
