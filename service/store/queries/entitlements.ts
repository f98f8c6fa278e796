// Each device's current answer (device_entitlements) and the read models
// every recompute keeps with it (subscription_usage, group_reach), plus the
// signed-token cache the issuer keeps in the same rows.
import type { SqlConn, SqlValue } from '../sql.ts';
import type { EntitlementReason } from '../../../shared/schemas/common.ts';
import { intArrayLiteral, textArrayLiteral } from '../postgres/text-array.ts';

export interface EntitlementState {
  device_id: string; seq: number; status: string; reason: string; product_sku: string | null; subscription_id: string | null; group_id: string | null;
}

/** An answer as stored: what every device of a move gets. */
export interface EntitlementAnswer {
  status: string; reason: string; product: string | null; subscription: string | null; group: string | null;
}

/**
 * Devices that all held one answer (`from`; null: no row yet) and all get
 * another (`to`): a recompute's changes come as a few of these.
 */
export interface EntitlementMove {
  from: { status: string; reason: string } | null;
  to: EntitlementAnswer;
  ids: readonly string[];
  /** SQLite: the rows' rowids (the update finds each row by it, not through the id index); null: by id. */
  rows: readonly (number | null)[] | null;
}

export interface IssuableRow {
  seq: number; status: 'licensed' | 'unlicensed'; reason: EntitlementReason; product_sku: string | null; product_name: string | null;
  subscription_id: string | null; group_id: string | null; term_end: string | null; token: string | null; token_iat: number | null;
}

// Rows per set-based statement on PostgreSQL: 100,000 devices in a few
// round trips, without one parameter array of unbounded size.
const BULK = 20_000;
// Ids per UPDATE of a recompute's write on PostgreSQL. Each statement of a
// large write scans the whole table (a hashed `= ANY` filter) and plans its
// array element by element, so 20,000-id chunks cost five scans and five
// plans for 100,000 devices; one statement does one of each (bench/README.md,
// "Issue 12, eighth pass").
const UPDATE_BULK = 100_000;

function* chunks<T>(rows: readonly T[], size: number): Generator<readonly T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

/**
 * A JS array as one PostgreSQL array parameter (the pg driver sends it as an
 * array literal). Outside the portable SqlValue types on purpose: only the
 * `dialect === 'postgres'` branches below pass one.
 */
function arr(values: readonly (string | number | null)[]): SqlValue {
  return values as unknown as SqlValue;
}

/** Strings (device ids, tokens) as one text[] parameter, the literal built in one pass where it can be (store/postgres/text-array.ts). */
function idArray(ids: readonly string[]): SqlValue {
  return textArrayLiteral(ids) ?? arr(ids);
}

/** Whole numbers (and nulls) as one bigint[] parameter, the literal built in one pass where it can be. */
function intArray(values: readonly (number | null)[]): SqlValue {
  return intArrayLiteral(values) ?? arr(values);
}

/**
 * Moves merged by their new answer (the old one does not matter to a PostgreSQL write), in first-seen order;
 * a new answer of one move keeps that move's ids, others are joined by the native concat.
 */
function byNewAnswer(moves: readonly EntitlementMove[]): { to: EntitlementAnswer; ids: readonly string[] }[] {
  const groups = new Map<string, { to: EntitlementAnswer; lists: (readonly string[])[] }>();
  for (const m of moves) {
    // JSON keeps null apart from the string "null".
    const key = JSON.stringify([m.to.status, m.to.reason, m.to.product, m.to.subscription, m.to.group]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { to: m.to, lists: [] }));
    g.lists.push(m.ids);
  }
  return [...groups.values()].map(({ to, lists }) => {
    if (lists.length === 1) return { to, ids: lists[0] };
    let ids: string[] = [];
    for (let i = 0; i < lists.length; i += 1000) ids = ids.concat(...lists.slice(i, i + 1000));
    return { to, ids };
  });
}

/** A signed token to store over the row state it was signed from. */
export interface StoredToken { deviceId: string; token: string; iat: number; seq: number; prevSeq: number; prevIat: number | null }

export function entitlementQueries(c: SqlConn) {
  function issuable(deviceId: string): Promise<IssuableRow | undefined> {
    return c.get(`SELECT e.seq, e.status, e.reason, e.product_sku, p.name AS product_name, e.subscription_id, e.group_id,
      s.term_end, e.token, e.token_iat
      FROM device_entitlements e LEFT JOIN products p ON p.sku = e.product_sku LEFT JOIN subscriptions s ON s.id = e.subscription_id
      WHERE e.device_id = ?`, [deviceId]);
  }
  function signedSeq(deviceId: string, prefix: string): Promise<{ seq: number; token_iat: number; active: number } | undefined> {
    return c.get(`SELECT seq, token_iat, CASE WHEN substr(token, 1, ?) = ? THEN 1 ELSE 0 END AS active
      FROM device_entitlements WHERE device_id = ? AND token IS NOT NULL`, [prefix.length, prefix, deviceId]);
  }
  return {
    all(): Promise<EntitlementState[]> {
      return c.all('SELECT device_id, seq, status, reason, product_sku, subscription_id, group_id FROM device_entitlements');
    },
    /**
     * Writes a recompute's differences, one statement per move (PostgreSQL:
     * per new answer, per BULK ids inserted, per UPDATE_BULK ids updated) naming only the devices (SQLite: a JSON
     * array read by json_each; PostgreSQL: a text array): new rows start at
     * seq 1, changed rows get seq + 1 and lose their stored token.
     * entitlement_counts follows inserts by trigger; across updates it is kept
     * here, one delta per status and reason from the moves, this being the
     * only writer of a row's status or reason: SQLite's per-row trigger ran two
     * statements for every changed row (a quarter of the write at 100,000
     * rows), PostgreSQL's statement trigger copied every old and new row into
     * transition tables.
     */
    async applyChanges(changes: { moves: readonly EntitlementMove[]; at: string }): Promise<void> {
      const { at } = changes;
      const inserts = changes.moves.filter((m) => m.from === null && m.ids.length > 0);
      const updates = changes.moves.filter((m) => m.from !== null && m.ids.length > 0);
      const insert = 'INSERT INTO device_entitlements (device_id, seq, status, reason, product_sku, subscription_id, group_id, changed_at)';
      const set = `UPDATE device_entitlements SET seq = seq + 1, status = ?, reason = ?, product_sku = ?, subscription_id = ?, group_id = ?,
        changed_at = ?, token = NULL, token_iat = NULL`;
      const values = (a: EntitlementAnswer): SqlValue[] => [a.status, a.reason, a.product, a.subscription, a.group, at];
      const deltas = new Map<string, { status: string; reason: string; n: number }>();
      const add = (status: string, reason: string, n: number) => {
        const key = JSON.stringify([status, reason]);
        const d = deltas.get(key);
        if (d) d.n += n;
        else deltas.set(key, { status, reason, n });
      };
      for (const m of updates) {
        if (m.from!.status === m.to.status && m.from!.reason === m.to.reason) continue;
        add(m.from!.status, m.from!.reason, -m.ids.length);
        add(m.to.status, m.to.reason, m.ids.length);
      }
      const counted = [...deltas.values()].filter((d) => d.n !== 0);
      const upsert = 'ON CONFLICT (status, reason) DO UPDATE SET n = entitlement_counts.n + excluded.n';
      if (c.dialect === 'postgres') {
        for (const { to, ids } of byNewAnswer(inserts)) {
          for (const part of chunks(ids, BULK)) await c.run(`${insert} SELECT v, 1, ?, ?, ?, ?, ?, ? FROM unnest(?::text[]) AS v`, [...values(to), idArray(part)]);
        }
        for (const { to, ids } of byNewAnswer(updates)) {
          for (const part of chunks(ids, UPDATE_BULK)) await c.run(`${set} WHERE device_id = ANY(?::text[])`, [...values(to), idArray(part)]);
        }
        if (counted.length) {
          await c.run(`INSERT INTO entitlement_counts (status, reason, n) SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[]) ${upsert}`,
            [arr(counted.map((d) => d.status)), arr(counted.map((d) => d.reason)), arr(counted.map((d) => d.n))]);
        }
        return;
      }
      for (const m of inserts) await c.run(`${insert} SELECT value, 1, ?, ?, ?, ?, ?, ? FROM json_each(?)`, [...values(m.to), JSON.stringify(m.ids)]);
      for (const m of updates) {
        if (m.rows) await c.run(`${set} WHERE rowid IN (SELECT value FROM json_each(?))`, [...values(m.to), JSON.stringify(m.rows)]);
        else await c.run(`${set} WHERE device_id IN (SELECT value FROM json_each(?))`, [...values(m.to), JSON.stringify(m.ids)]);
      }
      for (const d of counted) await c.run(`INSERT INTO entitlement_counts (status, reason, n) VALUES (?, ?, ?) ${upsert}`, [d.status, d.reason, d.n]);
    },
    /** Replaces the seat-usage and group-reach read models. */
    async replaceUsage(subscriptions: Iterable<[string, { seatsUsed: number; seatsExhausted: number; devicesReached: number }]>,
      groups: Iterable<[string, number]>): Promise<void> {
      const subs = [...subscriptions];
      const reach = [...groups];
      if (c.dialect === 'postgres') {
        await c.run('DELETE FROM subscription_usage');
        for (const part of chunks(subs, BULK)) {
          await c.run(`INSERT INTO subscription_usage (subscription_id, seats_used, seats_exhausted, devices_reached)
            SELECT * FROM unnest(?::text[], ?::bigint[], ?::int[], ?::bigint[])`,
          [arr(part.map(([id]) => id)), arr(part.map(([, u]) => u.seatsUsed)), arr(part.map(([, u]) => u.seatsExhausted)), arr(part.map(([, u]) => u.devicesReached))]);
        }
        await c.run('DELETE FROM group_reach');
        for (const part of chunks(reach, BULK)) {
          await c.run('INSERT INTO group_reach (group_id, devices_reached) SELECT * FROM unnest(?::text[], ?::bigint[])',
            [arr(part.map(([id]) => id)), arr(part.map(([, n]) => n))]);
        }
        return;
      }
      await c.run('DELETE FROM subscription_usage');
      await c.runMany('INSERT INTO subscription_usage (subscription_id, seats_used, seats_exhausted, devices_reached) VALUES (?, ?, ?, ?)',
        subs.map(([id, u]) => [id, u.seatsUsed, u.seatsExhausted, u.devicesReached]));
      await c.run('DELETE FROM group_reach');
      await c.runMany('INSERT INTO group_reach (group_id, devices_reached) VALUES (?, ?)', reach.map(([id, n]) => [id, n]));
    },
    async isLicensed(deviceId: string): Promise<boolean> {
      return !!(await c.get("SELECT 1 AS x FROM device_entitlements WHERE device_id = ? AND status = 'licensed'", [deviceId]));
    },

    // The issuer's side.
    /** What a token is signed from: the row with its product name and term end. */
    issuable,
    /** The stored token's seq and signing time, and whether it begins with `prefix` (the active key's header). */
    signedSeq,
    /**
     * issuable() for many devices at once (a wake of thousands of long-polls):
     * one query per BULK ids (PostgreSQL: a text array; SQLite: a JSON array
     * read by json_each). Devices without a row are absent.
     */
    async issuableMany(deviceIds: readonly string[]): Promise<Map<string, IssuableRow>> {
      const out = new Map<string, IssuableRow>();
      if (c.dialect === 'postgres') {
        for (const part of chunks(deviceIds, BULK)) {
          const rows = await c.all<IssuableRow & { device_id: string }>(`SELECT e.device_id, e.seq, e.status, e.reason, e.product_sku, p.name AS product_name, e.subscription_id, e.group_id,
            s.term_end, e.token, e.token_iat
            FROM device_entitlements e LEFT JOIN products p ON p.sku = e.product_sku LEFT JOIN subscriptions s ON s.id = e.subscription_id
            WHERE e.device_id = ANY(?::text[])`, [idArray(part)]);
          for (const { device_id, ...r } of rows) out.set(device_id, r);
        }
        return out;
      }
      // One statement per BULK ids: outside a transaction every SQLite statement takes and drops the WAL read lock,
      // which made the single-row query ~50 µs a device, a quarter of a wake's event loop (bench/wake-cost.ts).
      for (const part of chunks(deviceIds, BULK)) {
        const rows = await c.all<IssuableRow & { device_id: string }>(`SELECT e.device_id, e.seq, e.status, e.reason, e.product_sku, p.name AS product_name, e.subscription_id, e.group_id,
          s.term_end, e.token, e.token_iat
          FROM device_entitlements e LEFT JOIN products p ON p.sku = e.product_sku LEFT JOIN subscriptions s ON s.id = e.subscription_id
          WHERE e.device_id IN (SELECT value FROM json_each(?))`, [JSON.stringify(part)]);
        for (const { device_id, ...r } of rows) out.set(device_id, r);
      }
      return out;
    },
    /** signedSeq() for many devices at once, as issuableMany. */
    async signedSeqMany(deviceIds: readonly string[], prefix: string): Promise<Map<string, { seq: number; token_iat: number; active: number }>> {
      const out = new Map<string, { seq: number; token_iat: number; active: number }>();
      if (c.dialect === 'postgres') {
        for (const part of chunks(deviceIds, BULK)) {
          const rows = await c.all<{ device_id: string; seq: number; token_iat: number; active: number }>(`SELECT device_id, seq, token_iat,
            CASE WHEN substr(token, 1, ?) = ? THEN 1 ELSE 0 END AS active
            FROM device_entitlements WHERE device_id = ANY(?::text[]) AND token IS NOT NULL`, [prefix.length, prefix, idArray(part)]);
          for (const { device_id, ...r } of rows) out.set(device_id, r);
        }
        return out;
      }
      for (const part of chunks(deviceIds, BULK)) {
        const rows = await c.all<{ device_id: string; seq: number; token_iat: number; active: number }>(`SELECT device_id, seq, token_iat,
          CASE WHEN substr(token, 1, ?) = ? THEN 1 ELSE 0 END AS active
          FROM device_entitlements WHERE device_id IN (SELECT value FROM json_each(?)) AND token IS NOT NULL`, [prefix.length, prefix, JSON.stringify(part)]);
        for (const { device_id, ...r } of rows) out.set(device_id, r);
      }
      return out;
    },
    /**
     * Stores signed tokens, each only over the exact row state that was
     * signed (seq and signing time): a row recomputed or re-signed meanwhile
     * is left alone. Returns the devices whose token was stored. Device ids
     * must be distinct. One UPDATE ... FROM per BULK rows (PostgreSQL:
     * unnest of arrays; SQLite: json_each of one JSON array), the same
     * conditions row by row: one statement is atomic on its own, so the
     * caller needs no transaction (no BEGIN and COMMIT round trips).
     */
    async storeTokens(rows: readonly StoredToken[]): Promise<Set<string>> {
      const stored = new Set<string>();
      if (c.dialect === 'postgres') {
        for (const part of chunks(rows, BULK)) {
          const done = await c.all<{ device_id: string }>(`UPDATE device_entitlements e SET token = v.token, token_iat = v.iat, seq = v.seq
            FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) AS v(device_id, token, iat, seq, prev_seq, prev_iat)
            WHERE e.device_id = v.device_id AND e.seq = v.prev_seq AND e.token_iat IS NOT DISTINCT FROM v.prev_iat
            RETURNING e.device_id`,
          // Each array's literal built in one pass: the driver's element-by-element encoding of 500 tokens and
          // their numbers was over a tenth of the event loop's busy time in a wake (bench/README.md, wake-cost.ts).
          [idArray(part.map((t) => t.deviceId)), idArray(part.map((t) => t.token)), intArray(part.map((t) => t.iat)), intArray(part.map((t) => t.seq)),
            intArray(part.map((t) => t.prevSeq)), intArray(part.map((t) => t.prevIat))]);
          for (const r of done) stored.add(r.device_id);
        }
        return stored;
      }
      for (const part of chunks(rows, BULK)) {
        const json = JSON.stringify(part.map((t) => [t.deviceId, t.token, t.iat, t.seq, t.prevSeq, t.prevIat]));
        const done = await c.all<{ device_id: string }>(`UPDATE device_entitlements AS e SET token = v.token, token_iat = v.iat, seq = v.seq
          FROM (SELECT value ->> 0 AS device_id, value ->> 1 AS token, value ->> 2 AS iat, value ->> 3 AS seq, value ->> 4 AS prev_seq,
            value ->> 5 AS prev_iat FROM json_each(?)) AS v
          WHERE e.device_id = v.device_id AND e.seq = v.prev_seq AND e.token_iat IS NOT DISTINCT FROM v.prev_iat
          RETURNING device_id`, [json]);
        for (const r of done) stored.add(r.device_id);
      }
      return stored;
    },
  };
}
export type EntitlementQueries = ReturnType<typeof entitlementQueries>;
