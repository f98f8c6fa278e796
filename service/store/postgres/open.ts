// SqlDatabase (store/sql.ts) over PostgreSQL with the `pg` driver: a pool
// for queries, one pooled client per transaction serialised by a
// transaction-scoped advisory lock (what BEGIN IMMEDIATE gives on SQLite,
// across every replica), and change fan-out by NOTIFY inside the
// transaction plus one LISTEN connection (listen.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DevlicError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/log.ts';
import { ChangedIds, type ChangeKind, type Changed, type SqlConn, type SqlDatabase, type SqlTx, type SqlValue, type TxOptions } from '../sql.ts';
import { mayWrite, readAlongside } from './alongside.ts';
import { ChangeListener, CHANNEL } from './listen.ts';
import { migratePostgres } from './migrations.ts';
import { encodeChanges } from './payload.ts';
import { toPostgres } from './placeholders.ts';
import { portableTypes } from './types.ts';
import { checkDatabaseUrl, redactUrl } from './url.ts';

/** The one advisory lock every write transaction of every replica takes ('devlic' in ASCII). */
export const WRITE_LOCK_KEY = 0x6465766c6963;

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_IDLE_IN_TRANSACTION_MS = 60_000;

export interface PostgresOptions {
  /** Connections in the pool (default 10); the LISTEN connection comes on top. */
  poolSize?: number;
  log?: Logger;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /**
   * A transaction idle (its replica frozen, or stuck between statements)
   * this long is ended by PostgreSQL, releasing the write lock every replica
   * waits on (default 60 s).
   */
  idleInTransactionMs?: number;
  /** Reconnect delays of the LISTEN connection (shared/backoff.ts). */
  reconnect?: { baseMs: number; maxMs: number };
}

export interface PostgresDatabase extends SqlDatabase {
  /** This instance's origin in change notifications; also in application_name `devlic-listen-<replicaId>`. */
  readonly replicaId: string;
}

type Queryable = Pick<pg.Pool, 'query'>;

/**
 * serial: one client (a transaction's) takes one query at a time; a body
 * that runs queries side by side (Promise.all) has them queued here, in
 * order, not inside pg (which deprecates queueing on a busy client).
 */
function conn(q: () => Queryable, guard: () => void, serial = false, seen?: (sql: string) => void): SqlConn {
  let tail: Promise<unknown> = Promise.resolve();
  const send = async (sql: string, params: readonly SqlValue[] = []) => {
    guard();
    seen?.(sql);
    const query = { text: toPostgres(sql, params), values: params as SqlValue[] };
    if (!serial) return q().query(query);
    const next = tail.then(() => q().query(query));
    tail = next.catch(() => {});
    return next;
  };
  return {
    dialect: 'postgres',
    async all<T>(sql: string, params?: readonly SqlValue[]) {
      return (await send(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params?: readonly SqlValue[]) {
      return (await send(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params?: readonly SqlValue[]) {
      return { changes: (await send(sql, params)).rowCount ?? 0 };
    },
    async runMany(sql: string, rows: readonly (readonly SqlValue[])[]) {
      let changes = 0;
      for (const r of rows) changes += (await send(sql, r)).rowCount ?? 0;
      return { changes };
    },
  };
}

export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<PostgresDatabase> {
  checkDatabaseUrl(url);
  const poolSize = opts.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new DevlicError('CONFIG_INVALID', `database pool size must be a whole number >= 1, not ${poolSize}`);
  const log = opts.log;
  const replicaId = randomUUID();
  const config: pg.ClientConfig = { connectionString: url, types: portableTypes, application_name: 'devlic-server' };
  const pool = new pg.Pool({
    ...config, max: poolSize, keepAlive: true,
    idle_in_transaction_session_timeout: opts.idleInTransactionMs ?? DEFAULT_IDLE_IN_TRANSACTION_MS,
  });
  // An idle client that loses its server emits here; unhandled it would end the process.
  pool.on('error', (err) => log?.warn({ err: err.message }, 'idle database connection lost'));
  // The second connection of the write-lock holder's reads side by side (alongside.ts): one is enough, as
  // only the transaction holding the write lock uses it, and apart from the pool it never waits for a
  // connection the lock's waiters hold.
  const side = new pg.Pool({ ...config, application_name: 'devlic-server-reads', max: 1, keepAlive: true, idleTimeoutMillis: 60_000 });
  side.on('error', (err) => log?.warn({ err: err.message }, 'idle database connection lost'));

  const listeners: ((ids: Changed, kind: ChangeKind) => void)[] = [];
  const emit = (ids: Changed, kind: ChangeKind) => {
    for (const fn of listeners) {
      try {
        fn(ids, kind);
      } catch (err) {
        log?.error({ err }, 'a change listener threw');
      }
    }
  };
  // Marks the async context of a running transaction body, so that using
  // the outer connection there fails at once instead of queueing behind it.
  const inTx = new AsyncLocalStorage<{ open: boolean }>();
  const outerGuard = () => {
    if (inTx.getStore()?.open) {
      throw new DevlicError('INTERNAL', 'the database was used directly inside its own transaction; use the transaction\'s tx (the outer connection would wait for the transaction to end)');
    }
  };

  const listener = new ChangeListener({
    config: { ...config, application_name: `devlic-listen-${replicaId}` },
    origin: replicaId,
    emit,
    log,
    backoff: opts.reconnect,
  });
  try {
    if (opts.migrate !== false) await migratePostgres(pool, log);
    await listener.start();
  } catch (e) {
    await listener.close();
    await pool.end().catch(() => {});
    await side.end().catch(() => {});
    if (e instanceof DevlicError) throw e;
    throw new DevlicError('CONFIG_INVALID', `cannot use the PostgreSQL database at ${redactUrl(url)}: ${(e as Error).message}`);
  }
  log?.info({ database: redactUrl(url), poolSize, replicaId }, 'using PostgreSQL');

  const outer = conn(() => pool, outerGuard);
  let closed = false;

  return {
    ...outer,
    replicaId,
    async transaction<T>(fn: (tx: SqlTx) => Promise<T>, txOpts: TxOptions = {}): Promise<T> {
      outerGuard();
      if (closed) throw new DevlicError('INTERNAL', 'the database is closed');
      const client = await pool.connect();
      const state = { open: true };
      const ids = new ChangedIds();
      let broken: Error | undefined;
      // A checked-out client's connection error (server ended the session)
      // has no pool listener; unheard it would end the process.
      const onError = (err: Error) => {
        broken = err;
        log?.warn({ err: err.message }, 'database connection lost during a transaction');
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        if (txOpts.serialised !== false) await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
        const txGuard = () => {
          if (!state.open) throw new DevlicError('INTERNAL', 'a transaction\'s tx was used after the transaction ended');
        };
        // The text of each statement that may have written, for alongside reads (alongside.ts): a few distinct texts per transaction.
        const writes = new Set<string>();
        const own = conn(() => client, txGuard, true, (sql) => {
          if (mayWrite(sql)) writes.add(sql);
        });
        const tx: SqlTx = {
          ...own,
          changed(more, kind = 'entitlement', opts = {}) {
            txGuard();
            ids.add(more, kind, opts.distinct);
          },
          // Only under the write lock: what makes the shared snapshot hold every committed admin change.
          alongside: txOpts.serialised === false ? undefined
            : (tables, fn) => readAlongside({ tx: own, side, wrap: (c) => conn(() => c, txGuard, true), writes }, tables, fn),
        };
        const result = await inTx.run(state, () => fn(tx));
        const changes = [...ids.entries()];
        const payloads = changes.flatMap(([kind, list]) => encodeChanges(replicaId, list, undefined, kind));
        // One round trip however many chunks; delivered by PostgreSQL on COMMIT only.
        if (payloads.length) await client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [CHANNEL, payloads]);
        state.open = false;
        await client.query('COMMIT');
        for (const [kind, list] of changes) emit(list, kind);
        return result;
      } catch (e) {
        state.open = false;
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is unusable: drop it from the pool
        }
        throw e;
      } finally {
        state.open = false;
        client.off('error', onError);
        client.release(broken);
      }
    },
    onChanged(fn) {
      listeners.push(fn);
    },
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await pool.end();
      await side.end();
    },
  };
}
