// The one object the licensing core and the HTTP layer talk to: the named
// queries of store/queries/, grouped by aggregate, bound to a database
// (SqlDatabase, store/sql.ts: SQLite or PostgreSQL). Nothing above
// service/store/ sees SQL or a driver.
//
//   store.<aggregate>.<query>(...)         one statement (or a few) on its own
//   store.transaction(async (tx) => {...}) the same aggregates bound to one
//                                          serialised write transaction, plus
//                                          tx.changed(ids) (announced after
//                                          COMMIT only, to every replica)
//   store.onChanged(fn)                    committed changes: device ids or 'all'
//   store.close()
//
// Aggregates: catalogue (products), subscriptions (and assignments), groups
// (nesting, membership), devices (enrollment, reports, lifecycle, merges),
// entitlements (recompute writes, usage read models, issued tokens), audit,
// views (admin read models, metrics), access (admins, enrollment tokens),
// userGroups (per-user licences: user groups, members, assignments, answers),
// signInDomains (NetBIOS -> DNS domain aliases for sign-in names).
import type { ChangeKind, Changed, Dialect, SqlConn, SqlDatabase, TxOptions } from './sql.ts';
import { accessQueries } from './queries/access.ts';
import { auditQueries } from './queries/audit.ts';
import { catalogueQueries } from './queries/catalogue.ts';
import { deviceQueries } from './queries/devices.ts';
import { entitlementQueries } from './queries/entitlements.ts';
import { groupQueries } from './queries/groups.ts';
import { ruleQueries } from './queries/rules.ts';
import { directoryQueries } from './queries/directories.ts';
import { subscriptionQueries } from './queries/subscriptions.ts';
import { viewQueries } from './queries/views.ts';
import { userGroupQueries } from './queries/users.ts';
import { signInDomainQueries } from './queries/sign-in-domains.ts';

export function bindAggregates(c: SqlConn) {
  return {
    dialect: c.dialect as Dialect,
    catalogue: catalogueQueries(c),
    subscriptions: subscriptionQueries(c),
    groups: groupQueries(c),
    rules: ruleQueries(c),
    directories: directoryQueries(c),
    devices: deviceQueries(c),
    entitlements: entitlementQueries(c),
    audit: auditQueries(c),
    views: viewQueries(c),
    access: accessQueries(c),
    userGroups: userGroupQueries(c),
    signInDomains: signInDomainQueries(c),
  };
}

/** Every aggregate, bound to one connection (the database, or a transaction). */
export type Aggregates = ReturnType<typeof bindAggregates>;

/** The aggregates inside a transaction. */
export interface TxStore extends Aggregates {
  /** Devices whose entitlement changed: told to onChanged listeners after commit, not at all after a rollback. */
  changed(ids: readonly string[], kind?: ChangeKind, opts?: { distinct?: boolean }): void;
  /**
   * Reads (fn, over the tables named) on a second connection sharing this
   * transaction's snapshot, side by side with its next statements; on the
   * transaction itself where that cannot be (SqlTx.alongside).
   */
  alongside<T>(tables: readonly string[], fn: (q: Aggregates) => Promise<T>): Promise<T>;
}

export interface Store extends Aggregates {
  /** Runs fn as one serialised write transaction; a throw rolls back. fn must use its tx only. */
  transaction<T>(fn: (tx: TxStore) => Promise<T>, opts?: TxOptions): Promise<T>;
  onChanged(fn: (ids: Changed, kind: ChangeKind) => void): void;
  /** One round trip to the database (/healthz): throws when it cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createStore(db: SqlDatabase): Store {
  return {
    ...bindAggregates(db),
    transaction: (fn, opts) => db.transaction((tx) => {
      const own = bindAggregates(tx);
      return fn({
        ...own,
        changed: (ids, kind, o) => tx.changed(ids, kind, o),
        alongside: (tables, read) => (tx.alongside ? tx.alongside(tables, (c) => read(bindAggregates(c))) : read(own)),
      });
    }, opts),
    onChanged: (fn) => db.onChanged(fn),
    ping: async () => { await db.get('SELECT 1 AS one'); },
    close: () => db.close(),
  };
}
