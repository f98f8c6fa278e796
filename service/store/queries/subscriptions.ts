// Subscriptions and their assignments to groups (licences).
import type { SqlConn } from '../sql.ts';
import { nameQueries } from './names.ts';

export interface SubscriptionRow { id: string; product_sku: string; seats: number; term_end: string | null; suspended: number; ord: number }

export function subscriptionQueries(c: SqlConn) {
  return {
    ...nameQueries(c, 'subscriptions'),
    /** Names starting with base (case-insensitive): for picking a free default name. */
    async namesStartingWith(base: string): Promise<string[]> {
      return (await c.all<{ name: string }>('SELECT name FROM subscriptions WHERE lower(name) LIKE lower(?)', [`${base}%`])).map((r) => r.name);
    },
    async nameTaken(name: string, exceptId?: string): Promise<boolean> {
      return exceptId === undefined
        ? !!(await c.get('SELECT 1 AS x FROM subscriptions WHERE lower(name) = lower(?)', [name]))
        : !!(await c.get('SELECT 1 AS x FROM subscriptions WHERE lower(name) = lower(?) AND id <> ?', [name, exceptId]));
    },
    async nextOrd(): Promise<number> {
      return (await c.get<{ m: number }>('SELECT COALESCE(MAX(ord), 0) AS m FROM subscriptions'))!.m + 1;
    },
    async insert(s: { id: string; name: string; productSku: string; seats: number; termEnd: string | null; createdAt: string; ord: number }): Promise<void> {
      await c.run('INSERT INTO subscriptions (id, name, product_sku, seats, term_end, suspended, created_at, ord) VALUES (?, ?, ?, ?, ?, 0, ?, ?)',
        [s.id, s.name, s.productSku, s.seats, s.termEnd, s.createdAt, s.ord]);
    },
    get(id: string): Promise<{ name: string; seats: number; term_end: string | null; suspended: number } | undefined> {
      return c.get('SELECT name, seats, term_end, suspended FROM subscriptions WHERE id = ?', [id]);
    },
    async update(id: string, s: { name: string; seats: number; termEnd: string | null; suspended: number }): Promise<void> {
      await c.run('UPDATE subscriptions SET name = ?, seats = ?, term_end = ?, suspended = ? WHERE id = ?', [s.name, s.seats, s.termEnd, s.suspended, id]);
    },
    ref(id: string): Promise<{ id: string; name: string } | undefined> {
      return c.get('SELECT id, name FROM subscriptions WHERE id = ?', [id]);
    },
    /** Subscriptions whose term ended in (from, to]. */
    async termsEndedBetween(from: string, to: string): Promise<number> {
      return (await c.get<{ n: number }>('SELECT COUNT(*) AS n FROM subscriptions WHERE term_end > ? AND term_end <= ?', [from, to]))!.n;
    },
    /** Every subscription, for the seat allocation. */
    allForAllocation(): Promise<SubscriptionRow[]> {
      return c.all('SELECT id, product_sku, seats, term_end, suspended, ord FROM subscriptions');
    },

    // Assignments (a subscription licensing a group).
    assignmentOfGroup(groupId: string): Promise<{ id: string; name: string } | undefined> {
      return c.get('SELECT s.id, s.name FROM assignments a JOIN subscriptions s ON s.id = a.subscription_id WHERE a.group_id = ?', [groupId]);
    },
    async assignmentId(subscriptionId: string, groupId: string): Promise<string | null> {
      return (await c.get<{ id: string }>('SELECT id FROM assignments WHERE subscription_id = ? AND group_id = ?', [subscriptionId, groupId]))?.id ?? null;
    },
    async assign(id: string, subscriptionId: string, groupId: string, at: string): Promise<void> {
      await c.run('INSERT INTO assignments (id, subscription_id, group_id, created_at) VALUES (?, ?, ?, ?)', [id, subscriptionId, groupId, at]);
    },
    async unassign(assignmentId: string): Promise<void> {
      await c.run('DELETE FROM assignments WHERE id = ?', [assignmentId]);
    },
    /** Assignments of any of these groups, with names, ordered by group name. */
    assignedToAny(groupIds: readonly string[]): Promise<{ g: string; s: string }[]> {
      if (groupIds.length === 0) return Promise.resolve([]);
      return c.all(`SELECT g.name AS g, s.name AS s FROM assignments a JOIN groups g ON g.id = a.group_id
        JOIN subscriptions s ON s.id = a.subscription_id WHERE a.group_id IN (${groupIds.map(() => '?').join(',')}) ORDER BY g.name`, groupIds);
    },
    allAssignments(): Promise<{ subscription_id: string; group_id: string }[]> {
      return c.all('SELECT subscription_id, group_id FROM assignments');
    },
  };
}
export type SubscriptionQueries = ReturnType<typeof subscriptionQueries>;
