// migrate-to-postgres: copies a SQLite site's database into an empty
// PostgreSQL database. One PostgreSQL transaction (holding the write lock,
// so no replica writes meanwhile) reads one SQLite snapshot and copies every
// table in foreign-key order in multi-row batches, moves the identity
// sequences past the copied ids and compares row counts per table; the
// caller's hooks copy the signing keyring and check seats in the same
// transaction. Any mismatch or error rolls everything back, leaving the
// target empty.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DevlicError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/log.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../sqlite/migrations.ts';
import type { SqlTx, SqlValue } from '../sql.ts';
import { openPostgres } from './open.ts';

/** Every devlic table, parents before children. */
export const TABLES_IN_FK_ORDER = [
  'products', 'subscriptions', 'directories', 'groups', 'group_children', 'devices', 'group_members', 'assignments',
  'device_entitlements', 'enroll_tokens', 'admins', 'audit', 'device_reports', 'subscription_usage',
  'group_reach', 'device_merges', 'device_tags', 'user_groups', 'user_group_members', 'user_assignments', 'user_entitlements',
  'directory_computers', 'sign_in_domains',
] as const;

/** Tables kept by the database on both backends (entitlement_counts follows device_entitlements' inserts by trigger): filled on the target by copying their source tables. */
const DERIVED = ['entitlement_counts'];

/** Tables whose integer key is an identity column on PostgreSQL (AUTOINCREMENT on SQLite). */
const IDENTITY: Record<string, string> = { group_members: 'ord', audit: 'id', device_reports: 'id', user_group_members: 'ord' };

/** PostgreSQL allows 65535 parameters per statement. */
const MAX_PARAMS = 60_000;

export interface CopyOptions {
  /** Rows per INSERT (default 1000, fewer for wide tables). */
  batchSize?: number;
  log?: Logger;
  /**
   * Runs inside the copy's transaction after the counts match; a throw
   * rolls the copy back. For the seat check (a recompute on the copy must
   * change nothing), which needs the licensing core on the new store.
   */
  seatCheck?: (tx: SqlTx) => Promise<void>;
  /**
   * Runs inside the copy's transaction before the tables: copies the
   * site's signing keyring into the database (a throw rolls back).
   */
  keyring?: (tx: SqlTx) => Promise<{ keys: number }>;
}

export interface CopyReport {
  tables: { table: string; rows: number }[];
  /** 'passed' when opts.seatCheck ran and did not throw; 'not-run' without one. */
  seatCheck: 'passed' | 'not-run';
  /** Signing keys copied by opts.keyring; null without one. */
  keyring: { keys: number } | null;
}

/** The SQLite database file of a data folder. */
export function sqliteFileOf(dataDir: string): string {
  return join(dataDir, 'devlic.db');
}

function openSource(file: string): Database.Database {
  if (!existsSync(file)) throw new DevlicError('CONFIG_INVALID', `no devlic database at ${file} (--from is the SQLite site's data folder)`);
  const src = new Database(file, { readonly: true, fileMustExist: true });
  const version = src.pragma('user_version', { simple: true }) as number;
  if (version !== SQLITE_MIGRATIONS.length) {
    src.close();
    throw new DevlicError('CONFIG_INVALID', version < SQLITE_MIGRATIONS.length
      ? `the SQLite database ${file} has schema version ${version}; start this devlic-server on it once (it migrates to ${SQLITE_MIGRATIONS.length}), stop it, then copy`
      : `the SQLite database ${file} has schema version ${version}, newer than this devlic-server (${SQLITE_MIGRATIONS.length}); use the devlic-server that wrote it`);
  }
  const tables = (src.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((t) => t.name);
  const unknown = tables.filter((t) => !(TABLES_IN_FK_ORDER as readonly string[]).includes(t) && !DERIVED.includes(t));
  if (unknown.length) {
    src.close();
    throw new DevlicError('CONFIG_INVALID', `the SQLite database ${file} has tables this copy does not know: ${unknown.join(', ')}`);
  }
  return src;
}

async function targetColumns(tx: SqlTx, table: string): Promise<Set<string>> {
  const rows = await tx.all<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?", [table]);
  return new Set(rows.map((r) => r.column_name));
}

/**
 * Copies the SQLite database `file` into the PostgreSQL database at `url`
 * (migrated first). Refuses (CONFLICT) a target that holds any devlic row.
 */
export async function copyFromSqlite(file: string, url: string, opts: CopyOptions = {}): Promise<CopyReport> {
  const src = openSource(file);
  const target = await openPostgres(url, { poolSize: 2, log: opts.log });
  try {
    return await target.transaction(async (tx) => {
      for (const t of TABLES_IN_FK_ORDER) {
        const has = await tx.get(`SELECT 1 AS x FROM ${t} LIMIT 1`);
        if (has) throw new DevlicError('CONFLICT', `the PostgreSQL database already has devlic data (table ${t} is not empty); migrate-to-postgres copies into an empty database only`);
      }
      const keyring = opts.keyring ? await opts.keyring(tx) : null;
      // Rows referring to rows later in the same table (devices.duplicate_of) are checked at commit.
      await tx.run('SET CONSTRAINTS ALL DEFERRED');
      // One read snapshot for the copy and the counts.
      src.prepare('BEGIN').run();
      const tables: CopyReport['tables'] = [];
      try {
        for (const table of TABLES_IN_FK_ORDER) {
          const rows = await copyTable(src, tx, table, opts);
          tables.push({ table, rows });
          opts.log?.info({ table, rows }, 'copied');
        }
      } finally {
        src.prepare('COMMIT').run();
      }
      if (opts.seatCheck) await opts.seatCheck(tx);
      return { tables, seatCheck: opts.seatCheck ? 'passed' : 'not-run', keyring } satisfies CopyReport;
    });
  } finally {
    src.close();
    await target.close();
  }
}

async function copyTable(src: Database.Database, tx: SqlTx, table: string, opts: CopyOptions): Promise<number> {
  const columns = (src.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
  const have = await targetColumns(tx, table);
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length) throw new DevlicError('INTERNAL', `PostgreSQL table ${table} lacks the column(s) ${missing.join(', ')} that SQLite has`);
  const batch = Math.max(1, Math.min(opts.batchSize ?? 1000, Math.floor(MAX_PARAMS / columns.length)));
  const row = `(${columns.map(() => '?').join(', ')})`;
  const insert = (n: number) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array(n).fill(row).join(', ')}`;
  let copied = 0;
  let params: SqlValue[] = [];
  let pending = 0;
  const flush = async () => {
    if (!pending) return;
    const r = await tx.run(insert(pending), params);
    copied += r.changes;
    params = [];
    pending = 0;
  };
  // rowid order: the order SQLite itself returns, and ascending ids for the identity tables.
  for (const r of src.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY rowid`).raw().iterate() as IterableIterator<unknown[]>) {
    for (const v of r) {
      if (typeof v === 'bigint' || (v !== null && typeof v === 'object')) throw new DevlicError('INTERNAL', `table ${table} holds a value that is neither text, number nor null`);
      if (typeof v === 'string' && v.includes('\0')) throw new DevlicError('CONFLICT', `table ${table} holds text with a NUL character, which PostgreSQL cannot store`);
      params.push(v as SqlValue);
    }
    if (++pending === batch) await flush();
  }
  await flush();

  const source = (src.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  const { n } = (await tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!;
  if (n !== source || copied !== source) {
    throw new DevlicError('INTERNAL', `copy of ${table} does not match: SQLite has ${source} rows, PostgreSQL ${n}; nothing was copied`);
  }
  const key = IDENTITY[table];
  if (key) {
    // The next generated id follows the largest copied one (1 for an empty table).
    await tx.get(`SELECT setval(pg_get_serial_sequence('${table}', '${key}'), COALESCE((SELECT MAX(${key}) FROM ${table}), 0) + 1, false) AS v`);
  }
  return n;
}
