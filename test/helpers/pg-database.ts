// Creates a database on a PostgreSQL cluster for a test. Its own module
// (only the driver, no child process, no vitest) so that helpers loaded by
// unit tests and benchmarks can import it; test/helpers/postgres.ts starts
// the cluster itself.
import pg from 'pg';

/** Creates an empty database (UTF8, C locale) on the cluster of `adminUrl`; returns its URL. `name`: letters, digits, _ only. */
export async function createDatabaseAt(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  } finally {
    await c.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
