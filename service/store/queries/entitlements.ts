// Each device's current answer (device_entitlements) and the read models
// every recompute keeps with it (subscription_usage, group_reach), plus the
// signed-token cache the issuer keeps in the same rows.
import type { SqlConn } from '../sql.ts';
import type { EntitlementReason } from '../../../shared/schemas/common.ts';

export interface EntitlementState {
  device_id: string; seq: number; status: string; reason: string; product_sku: string | null; subscription_id: string | null; group_id: string | null;
}

/** One device's new answer, as the allocation computed it. */
export interface EntitlementWrite {
  deviceId: string; status: string; reason: string; product: string | null; subscription: string | null; group: string | null;
}

export interface IssuableRow {
  seq: number; status: 'licensed' | 'unlicensed'; reason: EntitlementReason; product_sku: string | null; product_name: string | null;
  subscription_id: string | null; group_id: string | null; term_end: string | null; token: string | null; token_iat: number | null;
}

// Rows written per round trip: keeps a recompute of 100,000 devices from
// holding 100,000 pending promises at once.
const CHUNK = 1000;

async function each<T>(rows: readonly T[], fn: (row: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await Promise.all(rows.slice(i, i + CHUNK).map(fn));
}

export function entitlementQueries(c: SqlConn) {
  return {
    all(): Promise<EntitlementState[]> {
      return c.all('SELECT device_id, seq, status, reason, product_sku, subscription_id, group_id FROM device_entitlements');
    },
    /**
     * Writes a recompute's differences: new rows start at seq 1, changed rows
     * get seq + 1 and lose their stored token. Per row on every backend for
     * now (the PostgreSQL bulk path comes later, behind this same method).
     */
    async applyChanges(changes: { inserts: readonly EntitlementWrite[]; updates: readonly EntitlementWrite[]; at: string }): Promise<void> {
      const { at } = changes;
      await each(changes.inserts, (e) => c.run(`INSERT INTO device_entitlements (device_id, seq, status, reason, product_sku, subscription_id, group_id, changed_at)
        VALUES (?, 1, ?, ?, ?, ?, ?, ?)`, [e.deviceId, e.status, e.reason, e.product, e.subscription, e.group, at]));
      await each(changes.updates, (e) => c.run(`UPDATE device_entitlements SET seq = seq + 1, status = ?, reason = ?, product_sku = ?, subscription_id = ?, group_id = ?,
        changed_at = ?, token = NULL, token_iat = NULL WHERE device_id = ?`, [e.status, e.reason, e.product, e.subscription, e.group, at, e.deviceId]));
    },
    /** Replaces the seat-usage and group-reach read models. */
    async replaceUsage(subscriptions: Iterable<[string, { seatsUsed: number; seatsExhausted: number; devicesReached: number }]>,
      groups: Iterable<[string, number]>): Promise<void> {
      await c.run('DELETE FROM subscription_usage');
      await each([...subscriptions], ([id, u]) => c.run('INSERT INTO subscription_usage (subscription_id, seats_used, seats_exhausted, devices_reached) VALUES (?, ?, ?, ?)',
        [id, u.seatsUsed, u.seatsExhausted, u.devicesReached]));
      await c.run('DELETE FROM group_reach');
      await each([...groups], ([id, n]) => c.run('INSERT INTO group_reach (group_id, devices_reached) VALUES (?, ?)', [id, n]));
    },
    /** Devices licensed by this subscription through this group. */
    async licensedVia(subscriptionId: string, groupId: string): Promise<string[]> {
      return (await c.all<{ device_id: string }>("SELECT device_id FROM device_entitlements WHERE status = 'licensed' AND subscription_id = ? AND group_id = ?",
        [subscriptionId, groupId])).map((r) => r.device_id);
    },
    async isLicensed(deviceId: string): Promise<boolean> {
      return !!(await c.get("SELECT 1 AS x FROM device_entitlements WHERE device_id = ? AND status = 'licensed'", [deviceId]));
    },

    // The issuer's side.
    /** What a token is signed from: the row with its product name and term end. */
    issuable(deviceId: string): Promise<IssuableRow | undefined> {
      return c.get(`SELECT e.seq, e.status, e.reason, e.product_sku, p.name AS product_name, e.subscription_id, e.group_id,
        s.term_end, e.token, e.token_iat
        FROM device_entitlements e LEFT JOIN products p ON p.sku = e.product_sku LEFT JOIN subscriptions s ON s.id = e.subscription_id
        WHERE e.device_id = ?`, [deviceId]);
    },
    /** The stored token's seq and signing time, and whether it begins with `prefix` (the active key's header). */
    signedSeq(deviceId: string, prefix: string): Promise<{ seq: number; token_iat: number; active: number } | undefined> {
      return c.get(`SELECT seq, token_iat, CASE WHEN substr(token, 1, ?) = ? THEN 1 ELSE 0 END AS active
        FROM device_entitlements WHERE device_id = ? AND token IS NOT NULL`, [prefix.length, prefix, deviceId]);
    },
    /**
     * Stores a signed token only over the exact row state that was signed
     * (seq and signing time): true when stored.
     */
    async storeToken(deviceId: string, t: { token: string; iat: number; seq: number; prevSeq: number; prevIat: number | null }): Promise<boolean> {
      return (await c.run('UPDATE device_entitlements SET token = ?, token_iat = ?, seq = ? WHERE device_id = ? AND seq = ? AND token_iat IS NOT DISTINCT FROM ?',
        [t.token, t.iat, t.seq, deviceId, t.prevSeq, t.prevIat])).changes === 1;
    },
  };
}
export type EntitlementQueries = ReturnType<typeof entitlementQueries>;
