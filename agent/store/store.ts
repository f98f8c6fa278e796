// Typed queries over the agent's database. Nothing here decides anything:
// whatever is read back is re-verified (token signature) and judged by
// decide.ts, so an edited database can at worst deny full mode.
import type Database from 'better-sqlite3';
import type { Db } from './db.ts';
import type { ObservedMark } from '../decision/observed-time.ts';
import type { AgentEventType } from '../../shared/events.ts';

/** One signed-in person's latest verified user token. */
export interface StoredUserEntitlement { user: string; deviceId: string; seq: number; token: string; receivedAt: number }

export interface StoredEntitlement {
  deviceId: string;
  seq: number;
  token: string;
  receivedAt: number;
}

export interface EventRow {
  id: number;
  at: number;
  type: string;
  reason: string | null;
  fields: Record<string, unknown> | null;
}

export interface SessionRow {
  id: number;
  user: string;
  line: string;
  host: string | null;
  startedAt: number;
  endedAt: number | null;
  mode: string | null;
  reason: string | null;
}

export interface SyncState {
  lastAttemptAt: number | null;
  lastOk: boolean | null;
  lastError: string | null;
  lastSuccessAt: number | null;
  nextSyncAt: number | null;
  etag: string | null;
}

export interface TrustedTime {
  highWaterMs: number;
  syncServerMs: number | null;
  syncLocalMs: number | null;
}

export interface DecisionRow {
  at: number;
  mode: string;
  reason: string;
  warning: Record<string, unknown> | null;
  users: string[];
}

export interface AppliedRow {
  enforcer: string;
  at: number;
  mode: string;
  reason: string;
  ok: boolean;
  changed: boolean;
  applied: string;
  detail: Record<string, unknown> | null;
  error: string | null;
}

function json<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export class Store {
  readonly db: Db;

  private readonly stmts = new Map<string, Database.Statement<unknown[]>>();

  /** txRelaxed commits with an fsync when the last durable commit here is older than this. */
  private readonly durableEveryMs: number;
  /** When (performance.now) a transaction here last committed with an fsync. */
  private durableAt = -Infinity;

  constructor(db: Db, opts: { durableEveryMs?: number } = {}) {
    this.db = db;
    this.durableEveryMs = opts.durableEveryMs ?? 60_000;
  }

  /** Prepared statements are compiled once per connection. */
  private q(sql: string): Database.Statement<unknown[]> {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[]>(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  close(): void {
    this.db.close();
  }

  // --- user entitlements (issue 16) ----------------------------------------

  getUserEntitlement(user: string): StoredUserEntitlement | null {
    const r = this.q('SELECT user, device_id, seq, token, received_at FROM user_entitlements WHERE user = ?').get(user) as
      { user: string; device_id: string; seq: number; token: string; received_at: number } | undefined;
    return r ? { user: r.user, deviceId: r.device_id, seq: r.seq, token: r.token, receivedAt: r.received_at } : null;
  }

  /** Stores a verified user token unless one with a higher seq for the same device is stored (compared in SQL, as putEntitlement). */
  putUserEntitlement(e: StoredUserEntitlement): boolean {
    return this.q(`
      INSERT INTO user_entitlements (user, device_id, seq, token, received_at) VALUES (@user, @deviceId, @seq, @token, @receivedAt)
      ON CONFLICT (user) DO UPDATE SET device_id = excluded.device_id, seq = excluded.seq, token = excluded.token, received_at = excluded.received_at
      WHERE excluded.seq >= user_entitlements.seq OR excluded.device_id <> user_entitlements.device_id`).run(e).changes === 1;
  }

  // --- entitlement -------------------------------------------------------

  getEntitlement(): StoredEntitlement | null {
    const r = this.q('SELECT device_id, seq, token, received_at FROM entitlement WHERE id = 1').get() as
      { device_id: string; seq: number; token: string; received_at: number } | undefined;
    return r ? { deviceId: r.device_id, seq: r.seq, token: r.token, receivedAt: r.received_at } : null;
  }

  /**
   * Stores a (verified) token unless the stored one has a higher or equal seq
   * for the same device: the comparison is in SQL so two writers (daemon and
   * `refresh`) cannot race an older token over a newer one.
   */
  putEntitlement(e: StoredEntitlement): boolean {
    const r = this.q(`
      INSERT INTO entitlement (id, device_id, seq, token, received_at) VALUES (1, @deviceId, @seq, @token, @receivedAt)
      ON CONFLICT (id) DO UPDATE SET device_id = excluded.device_id, seq = excluded.seq, token = excluded.token,
        received_at = excluded.received_at
      WHERE excluded.seq > entitlement.seq OR excluded.device_id <> entitlement.device_id`).run(e);
    return r.changes === 1;
  }

  /**
   * Replaces the stored row only if it still holds `expectedToken` (which the
   * caller found invalid): a tampered row must not block genuine updates.
   */
  replaceEntitlement(expectedToken: string, e: StoredEntitlement): boolean {
    const r = this.q(`UPDATE entitlement SET device_id = @deviceId, seq = @seq, token = @token, received_at = @receivedAt
      WHERE id = 1 AND token = @expected`).run({ ...e, expected: expectedToken });
    return r.changes === 1;
  }

  clearEntitlement(): void {
    this.q('DELETE FROM entitlement').run();
  }

  // --- events ------------------------------------------------------------

  /** Written types come from shared/events.ts; rows read back stay plain strings (a newer agent's log may hold others). */
  addEvent(at: number, type: AgentEventType, reason: string | null, fields?: Record<string, unknown>): void {
    this.q('INSERT INTO events (at, type, reason, fields) VALUES (?, ?, ?, ?)')
      .run(at, type, reason, fields ? JSON.stringify(fields) : null);
  }

  events(opts: { sinceMs?: number; afterId?: number; limit?: number }): EventRow[] {
    const rows = this.q(`SELECT id, at, type, reason, fields FROM events
      WHERE at >= @since AND id > @after ORDER BY id LIMIT @limit`).all({
      since: opts.sinceMs ?? 0, after: opts.afterId ?? 0, limit: opts.limit ?? 10_000,
    }) as { id: number; at: number; type: string; reason: string | null; fields: string | null }[];
    return rows.map((r) => ({ ...r, fields: json<Record<string, unknown>>(r.fields) }));
  }

  /** The newest event of this type, or null. */
  lastEvent(type: AgentEventType): EventRow | null {
    const r = this.q('SELECT id, at, type, reason, fields FROM events WHERE type = ? ORDER BY id DESC LIMIT 1').get(type) as
      { id: number; at: number; type: string; reason: string | null; fields: string | null } | undefined;
    return r ? { ...r, fields: json<Record<string, unknown>>(r.fields) } : null;
  }

  pruneEvents(beforeMs: number): number {
    return this.q('DELETE FROM events WHERE at < ?').run(beforeMs).changes;
  }

  // --- sessions ----------------------------------------------------------

  openSessions(): SessionRow[] {
    const rows = this.q(`SELECT id, user, line, host, started_at, ended_at, mode, reason FROM sessions
      WHERE ended_at IS NULL ORDER BY started_at, id`).all() as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as number, user: r.user as string, line: r.line as string, host: r.host as string | null,
      startedAt: r.started_at as number, endedAt: r.ended_at as number | null, mode: r.mode as string | null, reason: r.reason as string | null,
    }));
  }

  startSession(user: string, line: string, host: string | null, at: number): number {
    return Number(this.q('INSERT INTO sessions (user, line, host, started_at) VALUES (?, ?, ?, ?)').run(user, line, host, at).lastInsertRowid);
  }

  endSession(id: number, at: number): void {
    this.q('UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL').run(at, id);
  }

  /** Forgets sessions that ended before `beforeMs`. */
  pruneSessions(beforeMs: number): number {
    return this.q('DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?').run(beforeMs).changes;
  }

  setOpenSessionsMode(mode: string, reason: string): void {
    this.q('UPDATE sessions SET mode = ?, reason = ? WHERE ended_at IS NULL').run(mode, reason);
  }

  // --- sync state and trusted time ----------------------------------------

  getSyncState(): SyncState {
    const r = this.q('SELECT * FROM sync_state WHERE id = 1').get() as Record<string, unknown> | undefined;
    if (!r) return { lastAttemptAt: null, lastOk: null, lastError: null, lastSuccessAt: null, nextSyncAt: null, etag: null };
    return {
      lastAttemptAt: r.last_attempt_at as number | null,
      lastOk: r.last_ok === null ? null : r.last_ok === 1,
      lastError: r.last_error as string | null,
      lastSuccessAt: r.last_success_at as number | null,
      nextSyncAt: r.next_sync_at as number | null,
      etag: r.etag as string | null,
    };
  }

  /** Records one sync attempt; `etag` undefined keeps the stored one. */
  recordSync(s: { at: number; ok: boolean; error: string | null; etag?: string | null }): void {
    this.q(`INSERT INTO sync_state (id, last_attempt_at, last_ok, last_error, last_success_at, etag)
      VALUES (1, @at, @ok, @error, CASE WHEN @ok = 1 THEN @at END, @etag)
      ON CONFLICT (id) DO UPDATE SET last_attempt_at = @at, last_ok = @ok, last_error = @error,
        last_success_at = CASE WHEN @ok = 1 THEN @at ELSE sync_state.last_success_at END,
        etag = CASE WHEN @keepEtag = 1 THEN sync_state.etag ELSE @etag END`)
      .run({ at: s.at, ok: s.ok ? 1 : 0, error: s.error, etag: s.etag ?? null, keepEtag: s.etag === undefined ? 1 : 0 });
  }

  /** For `status` only, and set again before every request: written without an fsync (txRelaxed). */
  setNextSync(at: number | null): void {
    this.txRelaxed(() => this.q(`INSERT INTO sync_state (id, next_sync_at) VALUES (1, ?)
      ON CONFLICT (id) DO UPDATE SET next_sync_at = excluded.next_sync_at`).run(at));
  }

  getTrustedTime(): TrustedTime | null {
    const r = this.q('SELECT high_water_ms, sync_server_ms, sync_local_ms FROM trusted_time WHERE id = 1').get() as
      { high_water_ms: number; sync_server_ms: number | null; sync_local_ms: number | null } | undefined;
    return r ? { highWaterMs: r.high_water_ms, syncServerMs: r.sync_server_ms, syncLocalMs: r.sync_local_ms } : null;
  }

  /** After a successful sync: the service's time `serverMs` was seen at local time `localMs`. */
  recordTrustedTime(serverMs: number, localMs: number): void {
    this.q(`INSERT INTO trusted_time (id, high_water_ms, sync_server_ms, sync_local_ms) VALUES (1, @s, @s, @l)
      ON CONFLICT (id) DO UPDATE SET high_water_ms = max(trusted_time.high_water_ms, @s), sync_server_ms = @s, sync_local_ms = @l`)
      .run({ s: serverMs, l: localMs });
  }

  getObservedTime(): ObservedMark | null {
    const r = this.q('SELECT local_ms, reason FROM observed_time WHERE id = 1').get() as { local_ms: number; reason: string | null } | undefined;
    return r ? { localMs: r.local_ms, reason: r.reason } : null;
  }

  /** Raises the observed mark (never lowers it: max in SQL, so two writers cannot race it down). */
  raiseObservedTime(m: ObservedMark): void {
    this.q(`INSERT INTO observed_time (id, local_ms, reason) VALUES (1, @localMs, @reason)
      ON CONFLICT (id) DO UPDATE SET local_ms = excluded.local_ms, reason = excluded.reason
      WHERE excluded.local_ms >= observed_time.local_ms`).run(m);
  }

  /** After a successful sync: the mark restarts at the local time of that sync, up or down. */
  anchorObservedTime(localMs: number): void {
    this.q(`INSERT INTO observed_time (id, local_ms, reason) VALUES (1, ?, NULL)
      ON CONFLICT (id) DO UPDATE SET local_ms = excluded.local_ms, reason = NULL`).run(localMs);
  }

  // --- decision and enforcement results ------------------------------------

  getDecision(): DecisionRow | null {
    const r = this.q('SELECT at, mode, reason, warning, users FROM decision WHERE id = 1').get() as
      { at: number; mode: string; reason: string; warning: string | null; users: string } | undefined;
    return r ? { at: r.at, mode: r.mode, reason: r.reason, warning: json(r.warning), users: json<string[]>(r.users) ?? [] } : null;
  }

  setDecision(d: DecisionRow): void {
    this.q(`INSERT INTO decision (id, at, mode, reason, warning, users) VALUES (1, @at, @mode, @reason, @warning, @users)
      ON CONFLICT (id) DO UPDATE SET at = @at, mode = @mode, reason = @reason, warning = @warning, users = @users`)
      .run({ ...d, warning: d.warning ? JSON.stringify(d.warning) : null, users: JSON.stringify(d.users) });
  }

  getApplied(): AppliedRow[] {
    const rows = this.q('SELECT * FROM applied ORDER BY enforcer').all() as Record<string, unknown>[];
    return rows.map((r) => ({
      enforcer: r.enforcer as string, at: r.at as number, mode: r.mode as string, reason: r.reason as string,
      ok: r.ok === 1, changed: r.changed === 1, applied: r.applied as string,
      detail: json(r.detail as string | null), error: r.error as string | null,
    }));
  }

  setApplied(rows: AppliedRow[]): void {
    const stmt = this.q(`INSERT INTO applied (enforcer, at, mode, reason, ok, changed, applied, detail, error)
      VALUES (@enforcer, @at, @mode, @reason, @ok, @changed, @applied, @detail, @error)
      ON CONFLICT (enforcer) DO UPDATE SET at = @at, mode = @mode, reason = @reason, ok = @ok, changed = @changed,
        applied = @applied, detail = @detail, error = @error`);
    this.db.transaction(() => {
      const names = rows.map((r) => r.enforcer);
      // Enforcers removed from the config no longer report.
      this.q(`DELETE FROM applied WHERE enforcer NOT IN (SELECT value FROM json_each(?))`).run(JSON.stringify(names));
      for (const r of rows) {
        stmt.run({ ...r, ok: r.ok ? 1 : 0, changed: r.changed ? 1 : 0, detail: r.detail ? JSON.stringify(r.detail) : null });
      }
    })();
  }

  integrityCheck(): string[] {
    return (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE). */
  tx<T>(fn: () => T): T {
    const nested = this.db.inTransaction;
    const out = this.db.transaction(fn).immediate();
    if (!nested) this.durableAt = performance.now();
    return out;
  }

  /**
   * The same, committed without waiting for the disk (WAL with synchronous
   * NORMAL for this commit only): for records the next sync writes again
   * anyway (an unchanged answer's contact time, trusted time and log line,
   * the next sync's time), which an idle agent would otherwise fsync twice
   * a minute. A crash of the agent loses nothing (the commit is in the WAL
   * file); a power cut or OS crash may lose these commits and nothing
   * else, all or nothing and in order, and the next FULL commit (a new
   * token, the observed mark, any event) makes them durable. At most a
   * minute's worth (durableEveryMs): the trusted time an unchanged answer
   * re-anchors is lost to a power cut for no longer than the observed mark
   * (written once a minute) always was. Never for a token, a decision or
   * anything acted on that the next sync would not recompute.
   */
  txRelaxed<T>(fn: () => T): T {
    // Inside another transaction its commit decides (and the setting cannot change there).
    if (this.db.inTransaction || performance.now() - this.durableAt >= this.durableEveryMs) return this.tx(fn);
    this.q('PRAGMA synchronous = NORMAL').run();
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.q('PRAGMA synchronous = FULL').run();
    }
  }
}
