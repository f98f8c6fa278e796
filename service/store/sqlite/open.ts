// The SQLite backend of the storage seam: SqlDatabase (store/sql.ts) over
// better-sqlite3, the embedded default. WAL journal, synchronous FULL,
// foreign keys, a 5 s busy timeout, and the migrations in migrations.ts
// applied in order, each in its own transaction (PRAGMA user_version).
//
// better-sqlite3 is synchronous but a transaction's body is async (it awaits
// its queries), so a transaction can span many event-loop turns:
// - one async lock serialises transactions (BEGIN IMMEDIATE inside it);
// - a call on the outer connection while a transaction is open waits for it
//   to end, because on one connection it would otherwise read uncommitted
//   rows; from inside the transaction's own async context (AsyncLocalStorage)
//   that wait could never end, so it throws TX_MISUSE instead;
// - tx.changed(ids) is buffered and given to onChanged listeners after COMMIT.
// Prepared statements are cached by SQL text: the same speed as preparing
// each statement once by hand.
import Database from 'better-sqlite3';
import { AsyncLocalStorage } from 'node:async_hooks';
import { MIGRATIONS } from './migrations.ts';
import { ChangedIds, type ChangeKind, type Changed, type SqlDatabase, type SqlTx, type SqlValue } from '../sql.ts';

type Statement = Database.Statement<unknown[], unknown>;

/** Thrown when a transaction's body uses the outer connection, or opens a transaction inside itself. */
export class TxMisuseError extends Error {
  readonly code = 'TX_MISUSE';
}

export function openSqlite(file: string, opts: { nativeBinding?: string } = {}): SqlDatabase {
  const db = new Database(file, opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {});
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged admin change survives power loss, not only a crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return new SqliteDatabase(db);
}

function migrate(db: Database.Database): void {
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

/** One open transaction: its identity (for AsyncLocalStorage) and its buffered changes. */
interface TxState { ids: ChangedIds; open: boolean }

class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Statement>();
  private readonly listeners: Array<(ids: Changed, kind: ChangeKind) => void> = [];
  private readonly als = new AsyncLocalStorage<TxState>();
  /** Settles when the open transaction ends; null when none is open. */
  private busy: Promise<void> | null = null;
  private current: TxState | null = null;
  private closed = false;

  constructor(db: Database.Database) {
    this.db = db;
  }

  private stmt(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** The outer connection's gate: free unless a transaction is open. */
  private async gate(): Promise<void> {
    while (this.busy) {
      if (this.current && this.als.getStore() === this.current) {
        throw new TxMisuseError('the outer database connection was used inside its own transaction: use the transaction\'s tx instead (it would wait for itself forever)');
      }
      await this.busy;
    }
    if (this.closed) throw new Error('database is closed');
  }

  // Outer calls: a fast path with no await when no transaction is open.
  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    if (this.busy || this.closed) return this.gate().then(() => this.allNow<T>(sql, params));
    try { return Promise.resolve(this.allNow<T>(sql, params)); } catch (e) { return Promise.reject(e); }
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    if (this.busy || this.closed) return this.gate().then(() => this.getNow<T>(sql, params));
    try { return Promise.resolve(this.getNow<T>(sql, params)); } catch (e) { return Promise.reject(e); }
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    if (this.busy || this.closed) return this.gate().then(() => this.runNow(sql, params));
    try { return Promise.resolve(this.runNow(sql, params)); } catch (e) { return Promise.reject(e); }
  }

  runMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<{ changes: number }> {
    if (this.busy || this.closed) return this.gate().then(() => this.runManyNow(sql, rows));
    try { return Promise.resolve(this.runManyNow(sql, rows)); } catch (e) { return Promise.reject(e); }
  }

  private runManyNow(sql: string, rows: readonly (readonly SqlValue[])[]): { changes: number } {
    const stmt = this.stmt(sql);
    let changes = 0;
    for (const r of rows) changes += stmt.run(...r).changes;
    return { changes };
  }

  private allNow<T>(sql: string, params: readonly SqlValue[]): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  private getNow<T>(sql: string, params: readonly SqlValue[]): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  private runNow(sql: string, params: readonly SqlValue[]): { changes: number } {
    return { changes: this.stmt(sql).run(...params).changes };
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    if (this.current && this.als.getStore() === this.current) {
      throw new TxMisuseError('a transaction was opened inside another transaction of the same database: use the outer transaction\'s tx');
    }
    // The lock: wait until no transaction is open, then take it before any await.
    while (this.busy) await this.busy;
    if (this.closed) throw new Error('database is closed');
    const state: TxState = { ids: new ChangedIds(), open: true };
    let release!: () => void;
    this.busy = new Promise((r) => { release = r; });
    this.current = state;
    const tx = this.txConn(state);
    let result: T;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        result = await this.als.run(state, () => fn(tx));
        this.db.exec('COMMIT');
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    } finally {
      state.open = false;
      this.current = null;
      this.busy = null;
      release();
    }
    for (const [kind, ids] of state.ids.entries()) this.emit(ids, kind);
    return result;
  }

  private txConn(state: TxState): SqlTx {
    const check = () => {
      if (!state.open) throw new TxMisuseError('a transaction\'s tx was used after the transaction ended');
    };
    const wrap = <R>(f: () => R): Promise<R> => {
      try { check(); return Promise.resolve(f()); } catch (e) { return Promise.reject(e); }
    };
    return {
      dialect: 'sqlite',
      all: <T>(sql: string, params: readonly SqlValue[] = []) => wrap(() => this.allNow<T>(sql, params)),
      get: <T>(sql: string, params: readonly SqlValue[] = []) => wrap(() => this.getNow<T>(sql, params)),
      run: (sql: string, params: readonly SqlValue[] = []) => wrap(() => this.runNow(sql, params)),
      runMany: (sql: string, rows: readonly (readonly SqlValue[])[]) => wrap(() => this.runManyNow(sql, rows)),
      changed: (ids: readonly string[], kind: ChangeKind = 'entitlement', opts: { distinct?: boolean } = {}) => {
        check();
        state.ids.add(ids, kind, opts.distinct);
      },
    };
  }

  onChanged(fn: (ids: Changed, kind: ChangeKind) => void): void {
    this.listeners.push(fn);
  }

  private emit(ids: Changed, kind: ChangeKind): void {
    for (const l of this.listeners) l(ids, kind);
  }

  async close(): Promise<void> {
    while (this.busy) await this.busy;
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
