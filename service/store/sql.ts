// The storage seam's lowest layer: an async SQL connection that both
// backends (store/sqlite/, store/postgres/) implement, so the named queries
// in store/queries/ are written once. Nothing above service/store/ imports a
// database driver.
//
// Portable SQL, the rules every query follows (docs/design.md, "Storage"):
// - placeholders are `?` (PostgreSQL's driver gets them as $1, $2, ...); a
//   literal `?` never appears inside a string in a query;
// - case-insensitive names compare as lower(name) = lower(?), never
//   COLLATE NOCASE; LIKE on names as lower(x) LIKE lower(?);
// - INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE, never INSERT OR IGNORE;
// - booleans are INTEGER 0/1, times are ISO-8601 TEXT, JSON is TEXT parsed in
//   TypeScript (no json_extract / ->>);
// - integers come back as JS numbers on both backends (COUNT, SUM included).
// Where a query cannot be portable and fast at once (bulk writes of 100,000
// rows), its named query branches on `dialect`.

export type SqlValue = string | number | null;

export type Dialect = 'sqlite' | 'postgres';

/** One connection (or one transaction's connection). */
export interface SqlConn {
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** changes: rows inserted, updated or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /**
   * One statement run once per parameter row, in order; changes summed.
   * SQLite runs them all on one prepared statement without yielding (a
   * recompute's 100,000 rows); PostgreSQL sends one row at a time, so a
   * query that writes many rows there takes a set-based branch instead.
   */
  runMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<{ changes: number }>;
}

/**
 * Devices whose entitlement changed in a committed transaction, or 'all'
 * when a replica cannot know which (a notification lost while its LISTEN
 * connection was down, or a payload too large to name every device).
 */
export type Changed = readonly string[] | 'all';

/**
 * What changed, so each replica drops exactly the state it holds in memory:
 * - entitlement: devices' answers (wakes their long-polls, drops issued-token caches);
 * - device-key: devices whose key changed or that are gone (re-enrolled,
 *   merged, deleted): their verified request tokens are no longer trusted;
 * - admin-access: admins whose token was revoked: their event streams close;
 * - user-entitlement: people (normalised sign-in names) whose user-licence
 *   answer changed: wakes the long-polls asking about them;
 * - user-group: user groups whose people or licence changed (or that were
 *   created): open consoles re-read those groups (admin-events.ts).
 */
export type ChangeKind = 'entitlement' | 'device-key' | 'admin-access' | 'user-entitlement' | 'user-group';
export const CHANGE_KINDS: readonly ChangeKind[] = ['entitlement', 'device-key', 'admin-access', 'user-entitlement', 'user-group'];

/** The connection handed to a transaction's body. */
export interface SqlTx extends SqlConn {
  /**
   * Announces ids that changed (devices whose entitlement changed, unless
   * another kind is given). Delivered to every onChanged listener of every
   * replica only after, and only if, the transaction commits (on PostgreSQL
   * a NOTIFY inside the transaction).
   */
  changed(ids: readonly string[], kind?: ChangeKind, opts?: { distinct?: boolean }): void;
  /**
   * Runs read-only queries (fn) on a second connection that sees exactly
   * what this transaction sees at the call, side by side with the
   * transaction's own next statements, so that the database can use another
   * core for them (PostgreSQL: an exported snapshot, see store/postgres/
   * alongside.ts). `tables`: the tables fn reads; when this transaction has
   * written any of them (a second connection would not see its own
   * uncommitted rows), or there is no second connection to have, fn runs on
   * the transaction itself, after its queued statements. Absent: SQLite
   * (one connection), and transactions not serialised.
   */
  alongside?<T>(tables: readonly string[], fn: (c: SqlConn) => Promise<T>): Promise<T>;
}

/**
 * A transaction's announced ids per kind, each id once. A list the caller
 * declares distinct (`opts.distinct`: a recompute's changed devices, each in
 * it once by construction) and the only one of its kind goes out as it is:
 * putting 100,000 fresh id strings through a Set to drop repeats that cannot
 * be there cost tens of milliseconds of an assign to the whole fleet.
 */
export class ChangedIds {
  private readonly byKind = new Map<ChangeKind, { lists: (readonly string[])[]; distinct: boolean }>();
  add(ids: readonly string[], kind: ChangeKind, distinct = false): void {
    if (ids.length === 0) return;
    const k = this.byKind.get(kind);
    if (!k) this.byKind.set(kind, { lists: [ids], distinct });
    else {
      k.lists.push(ids);
      k.distinct = false;
    }
  }
  /** Every kind with its ids, repeats dropped (first occurrence kept, in order). */
  *entries(): Generator<[ChangeKind, readonly string[]]> {
    for (const [kind, { lists, distinct }] of this.byKind) {
      yield [kind, distinct && lists.length === 1 ? lists[0] : [...new Set(lists.flat())]];
    }
  }
}

export interface TxOptions {
  /**
   * false: not serialised against other replicas' write transactions on
   * PostgreSQL (SQLite serialises every write transaction regardless). Only
   * for writes that no seat allocation reads, each safe on its own row
   * (a status report, a conditional store of a signed token): a fleet's
   * reports after an outage must not queue behind one lock with the admins.
   */
  serialised?: boolean;
}

export interface SqlDatabase extends SqlConn {
  /**
   * Runs fn as one write transaction, serialised against every other write
   * transaction of every replica (SQLite: BEGIN IMMEDIATE behind one async
   * lock; PostgreSQL: a transaction-scoped advisory lock). A throw rolls back.
   * fn must use its `tx` only: the outer connection waits for the
   * transaction to end, so using it inside fn would deadlock (it throws
   * instead).
   */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>, opts?: TxOptions): Promise<T>;
  /** Committed changes, from this replica and (PostgreSQL) every other; 'all' of each kind after a lost connection. */
  onChanged(fn: (ids: Changed, kind: ChangeKind) => void): void;
  close(): Promise<void>;
}
