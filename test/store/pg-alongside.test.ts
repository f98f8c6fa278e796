// SqlTx.alongside on PostgreSQL (store/postgres/alongside.ts): reads on a
// second connection that imports the write transaction's snapshot. Checks
// that they run on another backend, see the snapshot of the call (not a row
// committed after it), fall back to the transaction itself when it has
// written a table they read (its own uncommitted rows would be missing
// otherwise), and leave the second connection usable after a failed read;
// and that a recompute after a membership change in its own transaction
// allocates from the changed memberships.
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../../service/store/postgres/open.ts';
import type { SqlConn } from '../../service/store/sql.ts';
import { createStore } from '../../service/store/store.ts';
import { seedCatalogue } from '../../service/licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from '../../service/licensing/context.ts';
import { createSubscription } from '../../service/licensing/subscriptions.ts';
import { assign } from '../../service/licensing/assignments.ts';
import { recompute } from '../../service/licensing/recompute.ts';
import { seedFleet } from '../../bench/seed-fleet.ts';
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

  it('a recompute sees a membership change made earlier in its own transaction, and one committed before it', async () => {
    const d = await openPostgres(await cluster().createDatabase());
    open.push(d);
    const store = createStore(d);
    await seedCatalogue(store, new Date().toISOString());
    await seedFleet(d, { devices: 4, groups: 2 }); // dev_fleet_0..3 in grp_fleet_0/1, both under 'All devices'
    const ctx = new LicensingContext(store);
    const sub = await createSubscription(ctx, SYSTEM_ACTOR, { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 10, name: 'EA' });
    await assign(ctx, SYSTEM_ACTOR, sub, 'All devices');
    const statuses = async () => (await d.all<{ device_id: string; status: string }>('SELECT device_id, status FROM device_entitlements ORDER BY device_id'))
      .map((r) => `${r.device_id}:${r.status}`);
    expect(await statuses()).toEqual(['dev_fleet_0:licensed', 'dev_fleet_1:licensed', 'dev_fleet_2:licensed', 'dev_fleet_3:licensed']);
    // Read from a second connection's snapshot, the membership just removed would still be there and the device keep its seat.
    const removed = await store.transaction(async (tx) => {
      expect(await tx.groups.removeMember('grp_fleet_0', 'dev_fleet_0')).toBe(true);
      return recompute(tx, Date.now());
    });
    expect(removed.lostSeat).toEqual(['dev_fleet_0']);
    expect(await statuses()).toEqual(['dev_fleet_0:unlicensed', 'dev_fleet_1:licensed', 'dev_fleet_2:licensed', 'dev_fleet_3:licensed']);
    // Committed before: a transaction that writes nothing the reads name reads them side by side, and sees it.
    await store.transaction((tx) => tx.groups.addMember('grp_fleet_1', 'dev_fleet_0', new Date().toISOString()));
    const added = await store.transaction((tx) => recompute(tx, Date.now()));
    expect(added.gotSeat).toEqual(['dev_fleet_0']);
    expect(await statuses()).toEqual(['dev_fleet_0:licensed', 'dev_fleet_1:licensed', 'dev_fleet_2:licensed', 'dev_fleet_3:licensed']);
  });

  it('not offered to a transaction that does not take the write lock', async () => {
    const { d } = await setup();
    expect(await d.transaction(async (tx) => tx.alongside, { serialised: false })).toBeUndefined();
  });
});
