// SqlTx.alongside on PostgreSQL (store/postgres/alongside.ts): reads on a
// second connection that imports the write transaction's snapshot. Checks
// that they run on another backend, see the snapshot of the call (not a row
// committed after it), fall back to the transaction itself when it has
// written a table they read (its own uncommitted rows would be missing
// otherwise), and leave the second connection usable after a failed read.
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../../service/store/postgres/open.ts';
import type { SqlConn } from '../../service/store/sql.ts';
import { describePostgres } from '../helpers/postgres.ts';

describePostgres('store/postgres alongside reads', (cluster) => {
  const open: PostgresDatabase[] = [];
  const clients: pg.Client[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });
  async function setup(): Promise<{ d: PostgresDatabase; other: pg.Client }> {
    const url = await cluster().createDatabase();
    const d = await openPostgres(url);
    open.push(d);
    await d.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await d.run('CREATE TABLE u (id INTEGER PRIMARY KEY)');
    await d.run("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')");
    // Another replica's (or an unserialised writer's) connection, outside the transaction.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    clients.push(other);
    return { d, other };
  }
  const read = async (c: SqlConn) => (await c.get<{ n: number; pid: number; vs: string }>(
    "SELECT COUNT(*) AS n, pg_backend_pid() AS pid, string_agg(v, ',' ORDER BY id) AS vs FROM t"))!;

  it('runs on a second backend and sees the transaction\'s snapshot, not a row committed after the call', async () => {
    const { d, other } = await setup();
    const seen = await d.transaction(async (tx) => {
      expect(tx.alongside).toBeTypeOf('function');
      const own = (await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid;
      await tx.run('INSERT INTO u (id) VALUES (1)'); // a write to a table the reads do not name
      const side = await tx.alongside!(['t'], async (c) => {
        await other.query("INSERT INTO t (id, v) VALUES (3, 'c')"); // committed after the snapshot was exported
        return read(c);
      });
      const after = await read(tx); // READ COMMITTED: the transaction's next statement sees it
      return { own, side, after };
    });
    expect(seen.side.pid).not.toBe(seen.own);
    expect(seen.side).toMatchObject({ n: 2, vs: 'a,b' });
    expect(seen.after).toMatchObject({ n: 3, pid: seen.own, vs: 'a,b,c' });
  });

  it('side by side with the transaction\'s own statements: both answer, on two backends', async () => {
    const { d } = await setup();
    const [side, own] = await d.transaction((tx) => Promise.all([tx.alongside!(['t'], read), read(tx)]));
    expect(side.n).toBe(2);
    expect(own.n).toBe(2);
    expect(side.pid).not.toBe(own.pid);
  });

  for (const [kind, write, expected] of [
    ['insert', "INSERT INTO t (id, v) VALUES (9, 'z')", { n: 3, vs: 'a,b,z' }],
    ['update', "UPDATE t SET v = 'x' WHERE id = 2", { n: 2, vs: 'a,x' }],
    ['delete', 'DELETE FROM t WHERE id = 1', { n: 1, vs: 'b' }],
  ] as const) {
    it(`after the transaction's own ${kind} on a table read, the reads run on the transaction and see it`, async () => {
      const { d } = await setup();
      const seen = await d.transaction(async (tx) => {
        const own = (await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid;
        await tx.run(write);
        return { own, side: await tx.alongside!(['u', 't'], read) };
      });
      expect(seen.side).toMatchObject({ ...expected, pid: seen.own });
    });
  }

  it('an own write inside a rolled-back savepoint still counts as written (the reads stay on the transaction)', async () => {
    const { d } = await setup();
    const seen = await d.transaction(async (tx) => {
      const own = (await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid;
      await tx.run('SAVEPOINT s');
      await tx.run("INSERT INTO t (id, v) VALUES (9, 'z')");
      await tx.run('ROLLBACK TO SAVEPOINT s');
      return { own, side: await tx.alongside!(['t'], read) };
    });
    expect(seen.side).toMatchObject({ n: 2, pid: seen.own });
  });

  it('a failed read rejects, the transaction can roll back, and the second connection serves the next one', async () => {
    const { d } = await setup();
    await expect(d.transaction((tx) => tx.alongside!(['t'], (c) => c.get('SELECT * FROM no_such_table')))).rejects.toThrow(/no_such_table/);
    const again = await d.transaction(async (tx) => {
      const own = (await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid;
      return { own, side: await tx.alongside!(['t'], read) };
    });
    expect(again.side.n).toBe(2);
    expect(again.side.pid).not.toBe(again.own);
  });

  it('not offered to a transaction that does not take the write lock', async () => {
    const { d } = await setup();
    expect(await d.transaction(async (tx) => tx.alongside, { serialised: false })).toBeUndefined();
  });
});
