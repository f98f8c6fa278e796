// `devlic-server migrate-to-postgres --from DIR --database URL`: copies a
// stopped SQLite site into an empty PostgreSQL database
// (store/postgres/copy-from-sqlite.ts) and prints the rows copied per table.
import { resolve } from 'node:path';
import { parse, UsageError } from '../shared/cli.ts';
import { copyFromSqlite, sqliteFileOf } from './store/postgres/copy-from-sqlite.ts';
import { checkDatabaseUrl, redactUrl } from './store/postgres/url.ts';

export const MIGRATE_USAGE = `Usage: devlic-server migrate-to-postgres --from DIR --database URL [--json]

Copies the SQLite database of a devlic-server data folder into an empty
PostgreSQL database, in one transaction: every table, identity counters
moved past the copied ids, row counts compared per table. On any error
nothing is copied. Stop the service first; afterwards start it with
--database URL (docs/postgresql.md). The signing key and admin token stay
in the data folder: give every replica a copy of it.

  --from DIR        the SQLite site's data folder (holding devlic.db)
  --database URL    postgres://USER:PASSWORD@HOST:PORT/DATABASE (default: $DEVLIC_DATABASE)
  --json            print the report as JSON
`;

export async function migrateMain(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { from: { type: 'string' }, database: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) { process.stdout.write(MIGRATE_USAGE); return 0; }
  if (positionals.length) throw new UsageError(`migrate-to-postgres takes no arguments (got '${positionals.join(' ')}')`);
  if (!values.from) throw new UsageError('migrate-to-postgres needs --from DIR (the SQLite site\'s data folder)');
  const url = values.database || process.env.DEVLIC_DATABASE;
  if (!url) throw new UsageError('migrate-to-postgres needs --database URL (or DEVLIC_DATABASE)');
  checkDatabaseUrl(url);
  const file = sqliteFileOf(resolve(values.from));
  // TODO(lead): pass seatCheck (a recompute on the copy must change no entitlement) once the licensing core runs on SqlTx.
  const report = await copyFromSqlite(file, url);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ from: file, database: redactUrl(url), ...report }, null, 2)}\n`);
  } else {
    const width = Math.max(...report.tables.map((t) => t.table.length));
    process.stdout.write(`Copied ${file} to ${redactUrl(url)}; row counts match:\n`
      + report.tables.map((t) => `  ${t.table.padEnd(width)}  ${t.rows}\n`).join('')
      + (report.seatCheck === 'passed' ? 'Seat check passed.\n' : 'Seat check not run (not available in this build).\n'));
  }
  return 0;
}
