// `devlic-server migrate-to-postgres --from DIR --database URL`: copies a
// stopped SQLite site into an empty PostgreSQL database
// (store/postgres/copy-from-sqlite.ts), its signing keyring with it, checks
// seats (migrate-checks.ts) and prints the rows copied per table and what
// the admin must do with the site key.
import { resolve } from 'node:path';
import { parse, UsageError } from '../shared/cli.ts';
import { copyKeyring, seatCheck, type CopiedKeys } from './migrate-checks.ts';
import { copyFromSqlite, sqliteFileOf } from './store/postgres/copy-from-sqlite.ts';
import { checkDatabaseUrl, redactUrl } from './store/postgres/url.ts';

export const MIGRATE_USAGE = `Usage: devlic-server migrate-to-postgres --from DIR --database URL [--json]

Copies a stopped devlic-server site on SQLite into an empty PostgreSQL
database, in one transaction: every table (identity counters moved past the
copied ids, row counts compared per table) and the signing keys, so that
enrolled devices keep trusting the service. A seat check then recomputes
every entitlement on the copy: if any device's licence status would change,
nothing is copied. On any error nothing is copied.

The signing keys are stored in the database sealed with the site key,
DIR/site-key (made, mode 0600, if missing). Copy that file, with the
admin-token file, into every replica's data folder, then start the replicas
with --database URL (docs/postgresql.md).

  --from DIR        the SQLite site's data folder (holding devlic.db and signing-key.json)
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
  const dir = resolve(values.from);
  const file = sqliteFileOf(dir);
  let keys: CopiedKeys | undefined;
  const report = await copyFromSqlite(file, url, {
    keyring: async (tx) => (keys = await copyKeyring(tx, dir)),
    seatCheck: (tx) => seatCheck(tx),
  });
  const k = keys!;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ from: file, database: redactUrl(url), ...report, keyring: k }, null, 2)}\n`);
  } else {
    const width = Math.max(...report.tables.map((t) => t.table.length));
    process.stdout.write(`Copied ${file} to ${redactUrl(url)}; row counts match:\n`
      + report.tables.map((t) => `  ${t.table.padEnd(width)}  ${t.rows}\n`).join('')
      + 'Seat check passed: no device\'s licence status changes.\n'
      + `Copied ${k.keys} signing key(s) (active ${k.activeKid}) into the database, sealed with the site key ${k.siteKeyFile}${k.siteKeyCreated ? ' (made now)' : ''}.\n`
      + `Copy ${k.siteKeyFile} (mode 0600) and ${dir}/admin-token into every replica's data folder before starting it with --database.\n`);
  }
  return 0;
}
