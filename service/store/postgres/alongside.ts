// Reads side by side with a write transaction on PostgreSQL (SqlTx.alongside):
// the transaction exports its snapshot and a second connection imports it
// (REPEATABLE READ, READ ONLY), so both see the same committed rows and the
// database can run the two connections' statements on two cores. A
// recompute's two large reads (the devices with their answers, the
// memberships) took 220 + 170 ms one after the other on one backend.
//
// Why this is safe for the seat allocation: the snapshot is taken inside the
// transaction, after it took the write lock every replica's write
// transactions take (open.ts), so it holds every committed admin change; no
// other writer of the rows read can commit before this transaction ends.
// What an imported snapshot does not show is the exporting transaction's own
// uncommitted writes, and a snapshot cannot be exported from inside a
// savepoint: so the transaction keeps the text of every statement of its own
// that is not a plain SELECT, and when one of them names a table the reads
// name (no trigger or cascade writes devices or memberships from another
// table), or opened a savepoint, the reads run on the transaction itself.
// (pg_stat_xact_user_tables was tried for this: on PostgreSQL 15 it also
// counts writes of the backend's earlier transactions not yet flushed to the
// shared statistics, so it sent reads back to the transaction for no reason.)
import type pg from 'pg';
import type { SqlConn } from '../sql.ts';

/** What PostgreSQL's pg_export_snapshot() returns, e.g. 00000003-0000001B-1: checked before it goes into a statement as a literal. */
const SNAPSHOT_ID = /^[0-9A-F]+(-[0-9A-F]+)+$/i;

/** Whether a statement may write (anything but a plain SELECT counts: conservative on purpose). */
export function mayWrite(sql: string): boolean {
  return !sql.match(/^\s*SELECT\b/i);
}

/**
 * Whether reads of `tables` must stay on the transaction, given the text of
 * its statements that may have written (mayWrite): one names a table read
 * (as a whole word: `devices` is not `devices_enrolled`), or opened a savepoint.
 */
export function mustReadOnTransaction(writes: Iterable<string>, tables: readonly string[]): boolean {
  for (const sql of writes) {
    if (sql.match(/^\s*SAVEPOINT\b/i)) return true;
    for (const t of tables) if (sql.match(new RegExp(`\\b${t.replace(/[^a-z0-9_]/gi, '')}\\b`, 'i'))) return true;
  }
  return false;
}

export interface AlongsideDeps {
  /** The transaction's own connection (queued statements run in order). */
  tx: SqlConn;
  /** Where the second connection comes from: a pool of one, used only by the replica's lock holder, so it never waits on another transaction. */
  side: pg.Pool;
  /** The same SqlConn wrapper the transaction uses, over the second connection. */
  wrap: (client: pg.PoolClient) => SqlConn;
  /** The text of the transaction's statements so far that may have written (mayWrite). */
  writes: Iterable<string>;
}

export async function readAlongside<T>(deps: AlongsideDeps, tables: readonly string[], fn: (c: SqlConn) => Promise<T>): Promise<T> {
  const { tx, side, wrap } = deps;
  if (mustReadOnTransaction(deps.writes, tables)) return fn(tx);
  const snapshot = (await tx.get<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot'))!.snapshot;
  if (!snapshot.match(SNAPSHOT_ID)) return fn(tx);
  let client: pg.PoolClient;
  try {
    client = await side.connect();
  } catch {
    return fn(tx); // no second connection to have: the reads are still right on the transaction's own
  }
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    // One round trip: SET TRANSACTION SNAPSHOT must be the transaction's first statement.
    await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${snapshot}'`);
    const result = await fn(wrap(client));
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch((err: Error) => {
      broken = err;
    });
    throw e;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
