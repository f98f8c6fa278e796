// vitest globalSetup of the `integration-pg` project: one throwaway
// PostgreSQL cluster for the whole run (test-backend.ts gives each service a
// database in it), stopped when the run ends.
import { PG_MISSING, startPostgres } from './postgres.ts';

export default async function setup(): Promise<() => Promise<void>> {
  if (PG_MISSING) throw new Error(`the integration-pg project needs PostgreSQL: ${PG_MISSING}`);
  const cluster = await startPostgres();
  process.env.DEVLIC_TEST_PG_ADMIN_URL = cluster.adminUrl;
  return () => cluster.stop();
}
