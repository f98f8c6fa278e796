// What `devlic-agent status` shows IT: identity, server, the mode the device
// should be in now (re-decided from the verified cache, so it is right even
// offline or with the daemon stopped), the entitlement, sync state, who is
// signed in and what each enforcer applied. Reads the database read-only.
import { agentPaths, type AgentConfig } from '../config.ts';
import type { Clock } from '../decision/clock.ts';
import { DatabaseDamagedError, openDbReadOnly, type Db } from '../store/db.ts';
import { Store } from '../store/store.ts';
import { readIdentity, readUserWatermarks, readWatermark, type StoredIdentity } from '../store/files.ts';
import { evaluateUsers, signInNames } from '../decision/evaluate-users.ts';
import { machineMode } from '../decision/decide-user.ts';
import { checkSignInName } from '../../shared/sign-in.ts';
import { evaluate } from '../decision/evaluate.ts';
import { sendControl } from '../runtime/control.ts';
import { AGENT_VERSION } from '../version.ts';
import { isKnownReason, UNKNOWN_REASON } from '../../shared/reasons.ts';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export interface AgentStatus {
  deviceId: string | null;
  enrolled: boolean;
  server: string | null;
  mode: 'full' | 'read-only';
  reason: string;
  warning: { code: string; message: string; expiresAt: string } | null;
  detail: string | null;
  facts: StoredIdentity['facts'] | null;
  enrolledAt: string | null;
  revoked: StoredIdentity['revoked'] | null;
  /** kids of the service signing keys this device trusts, oldest first (the last is the newest). */
  pinnedKeys: string[];
  entitlement: {
    status: string | null; product: string | null; productName: string | null; subscription: string | null; group: string | null;
    seq: number | null; issuedAt: string | null; expiresAt: string | null; warnAt: string | null; refreshAfter: string | null;
    valid: boolean; error: string | null;
  };
  lastSync: { at: string | null; ok: boolean | null; error: string | null };
  lastSuccessfulSync: string | null;
  nextSync: string | null;
  /** observedHighWater: the latest local time the agent recorded since the last sync (a clock behind it is untrusted). */
  clock: { now: string; effectiveNow: string | null; trustedHighWater: string | null; observedHighWater: string | null; observedReason: string | null; testHook: boolean };
  /**
   * Who is signed in. mode/reason: that person's own decision (issue 16);
   * licence: which licence gave full ('device' or 'user'; null when read-only);
   * firstSignIn: set when no user licence is known for them yet;
   * person: whose user licence answered, when a sign-in domain alias maps the name.
   */
  users: { name: string; line: string; since: string; mode: string | null; reason: string | null; licence: 'device' | 'user' | null; firstSignIn: string | null; person: string | null }[];
  /** The per-machine mode (LibreOffice's system layer, the device-wide files): full only when every signed-in person is full. */
  machine: { mode: 'full' | 'read-only'; reason: string };
  enforcers: { name: string; ok: boolean; applied: string; mode: string; reason: string; at: string; changed: boolean; error: string | null; detail: Record<string, unknown> | null }[];
  applied: { mode: string; reason: string; at: string } | null;
  /** The drift check's last repair: an enforcer's state found changed behind the agent's back and applied again. */
  lastDrift: { at: string; enforcer: string; drift: string[]; cause: string | null } | null;
  /** ok false: the cache is unreadable, so the mode is judged without it (no entitlement). */
  database: { ok: boolean; error: string | null; hint: string | null };
  daemon: { running: boolean; pid: number | null };
  agentVersion: string;
  dataDir: string;
}

export async function collectStatus(cfg: AgentConfig, clock: Clock): Promise<AgentStatus> {
  const paths = agentPaths(cfg.dataDir);
  const identity = readIdentity(paths.identity);
  let db: Db | null = null;
  let damaged: DatabaseDamagedError | null = null;
  try {
    db = openDbReadOnly(paths.db);
  } catch (e) {
    if (!(e instanceof DatabaseDamagedError)) throw e;
    damaged = e;
  }
  const store = db ? new Store(db) : null;
  try {
    const now = clock.now();
    const ev = await evaluate({ identity, store, watermark: readWatermark(paths.watermark), nowMs: now });
    const c = ev.claims;
    const sync = store?.getSyncState();
    const trusted = store?.getTrustedTime();
    const observed = store?.getObservedTime() ?? null;
    const decision = store?.getDecision() ?? null;
    const ping = (await sendControl(paths.socket, { cmd: 'ping' }, 2000).catch(() => null)) as { pid?: number } | null;
    const d = ev.decision;
    const sessions = store?.openSessions() ?? [];
    const signIns = signInNames(sessions.map((x) => x.user));
    const people = store ? await evaluateUsers({
      identity, store, device: d, watermark: readWatermark(paths.watermark), userWatermarks: readUserWatermarks(paths.userWatermarks),
      users: signIns.names, nowMs: now, online: () => sync?.lastOk !== false,
    }) : [];
    const personOf = (raw: string) => {
      const n = checkSignInName(raw);
      return n.ok ? people.find((p) => p.user === n.name) : undefined;
    };
    const machine = machineMode(d, people, signIns.refused.length);
    return {
      deviceId: identity?.deviceId ?? null,
      enrolled: identity !== null,
      server: identity?.server ?? cfg.server ?? null,
      mode: d.mode,
      reason: d.reason,
      warning: d.warning ? { code: d.warning.code, message: d.warning.message, expiresAt: iso(d.warning.expiresAt)! } : null,
      detail: d.detail ?? null,
      facts: identity?.facts ?? null,
      enrolledAt: identity?.enrolledAt ?? null,
      revoked: identity?.revoked ?? null,
      pinnedKeys: identity?.keys.keys.flatMap((k) => (k.kid ? [k.kid] : [])) ?? [],
      entitlement: {
        status: c?.status ?? null, product: c?.product ?? null, productName: c?.productName ?? null,
        subscription: c?.subscription ?? null, group: c?.group ?? null, seq: c?.seq ?? null,
        issuedAt: c ? iso(c.iat * 1000) : null, expiresAt: c ? iso(c.exp * 1000) : null,
        warnAt: c ? iso(c.warnAt * 1000) : null, refreshAfter: c ? iso(c.refreshAfter * 1000) : null,
        valid: ev.entitlement.kind === 'valid',
        error: ev.entitlement.kind === 'invalid' ? `${ev.entitlement.code}: ${ev.entitlement.message}` : null,
      },
      lastSync: { at: iso(sync?.lastAttemptAt), ok: sync?.lastOk ?? null, error: sync?.lastOk === false ? sync.lastError : null },
      lastSuccessfulSync: iso(sync?.lastSuccessAt),
      nextSync: ping && !identity?.revoked ? iso(sync?.nextSyncAt) : null,
      clock: { now: iso(now)!, effectiveNow: iso(d.effectiveNowMs), trustedHighWater: iso(trusted?.highWaterMs),
        observedHighWater: iso(observed?.localMs), observedReason: observed?.reason ?? null, testHook: clock.fake },
      users: sessions.map((x) => {
        const p = personOf(x.user);
        return { name: x.user, line: x.line, since: iso(x.startedAt)!, mode: p?.mode ?? d.mode, reason: p?.reason ?? d.reason,
          licence: p ? p.licence : d.mode === 'full' ? 'device' : null, firstSignIn: p?.firstSignIn ?? null, person: p?.person ?? null };
      }),
      machine: { mode: machine.mode, reason: machine.reason },
      enforcers: (store?.getApplied() ?? []).map((a) => ({
        name: a.enforcer, ok: a.ok, applied: a.applied, mode: a.mode, reason: a.reason, at: iso(a.at)!, changed: a.changed, error: a.error, detail: a.detail,
      })),
      applied: decision ? { mode: decision.mode, reason: decision.reason, at: iso(decision.at)! } : null,
      lastDrift: lastDrift(store),
      database: { ok: damaged === null, error: damaged?.message ?? null, hint: damaged?.hint ?? null },
      daemon: { running: ping !== null, pid: typeof ping?.pid === 'number' ? ping.pid : null },
      agentVersion: AGENT_VERSION,
      dataDir: cfg.dataDir,
    };
  } finally {
    store?.close();
  }
}

/** The newest drift-repaired event, in the shape status shows. */
export function lastDrift(store: Store | null): AgentStatus['lastDrift'] {
  const e = store?.lastEvent('drift-repaired');
  if (!e) return null;
  const f = e.fields ?? {};
  return {
    at: iso(e.at)!,
    enforcer: typeof f.enforcer === 'string' ? f.enforcer : 'unknown',
    drift: Array.isArray(f.drift) ? f.drift.filter((d): d is string => typeof d === 'string') : [],
    cause: typeof f.cause === 'string' ? f.cause : null,
  };
}

/** The human-readable form. */
export function formatStatus(s: AgentStatus): string {
  const lines: [string, string][] = [];
  const add = (k: string, v: string) => lines.push([k, v]);
  if (!s.enrolled) {
    add('Enrolled', "no: run 'devlic-agent enroll --server URL --token T'");
  } else {
    const f = s.facts;
    add('Device', `${s.deviceId}${f ? ` (${[f.hostname, [f.manufacturer, f.model].filter(Boolean).join(' '), f.serial && `serial ${f.serial}`].filter(Boolean).join(', ')})` : ''}`);
    add('Server', s.server ?? '-');
    add('Enrolled', `yes, ${s.enrolledAt}`);
    add('Signing keys', s.pinnedKeys.length ? `${s.pinnedKeys.join(', ')} (newest last)` : 'none pinned');
    if (s.revoked) add('Revoked', `${s.revoked.at}: ${s.revoked.message} (re-enroll with a new token)`);
  }
  add('Mode', `${s.mode} (${s.reason})${s.detail ? ` - ${s.detail}` : ''}`);
  // A code from a newer service: shown as-is, explained generically (known codes print exactly as before).
  if (!isKnownReason(s.reason)) add('Reason', `${UNKNOWN_REASON.label}: ${UNKNOWN_REASON.help}`);
  if (s.reason === 'CLOCK_UNTRUSTED') add('Clock', "read-only until the service vouches for the time: connect to the network (and put the date right if it is wrong); the next successful sync re-anchors the clock ('devlic-agent refresh')");
  if (!s.database.ok) add('Database', `DAMAGED: ${s.database.error}\n${s.database.hint}`);
  if (s.warning) add('Warning', s.warning.message);
  const e = s.entitlement;
  if (e.status) {
    add('Entitlement', `${e.status}${e.productName ? `: ${e.productName}` : e.product ? `: ${e.product}` : ''}${e.subscription ? `, subscription ${e.subscription}` : ''}${e.group ? `, group ${e.group}` : ''} (seq ${e.seq})`);
    add('', `valid offline until ${e.expiresAt}, warning from ${e.warnAt}`);
  } else {
    add('Entitlement', e.error ?? 'none cached');
  }
  add('Last sync', s.lastSync.at ? `${s.lastSync.at} ${s.lastSync.ok ? 'ok' : `failed: ${s.lastSync.error}`}` : 'never');
  if (s.lastSync.ok === false) add('Last good sync', s.lastSuccessfulSync ?? 'never');
  add('Next sync', s.nextSync ?? (s.daemon.running ? 'waiting' : 'agent not running'));
  add('Users', s.users.length ? s.users.map((u) => `${u.name} (${u.line}) ${u.mode ?? '?'}${userLicence(u)} since ${u.since}`).join('\n') : 'nobody signed in');
  if (s.users.length && (s.machine.mode !== s.mode)) add('Machine-wide', `${s.machine.mode} (${s.machine.reason}): full only when everyone signed in is full`);
  add('Enforcers', s.enforcers.length ? s.enforcers.map((x) => `${x.name}: ${x.ok ? x.applied : `FAILED: ${x.error}`}`).join('\n') : 'nothing applied yet');
  add('Last drift', s.lastDrift ? `${s.lastDrift.at} ${s.lastDrift.enforcer}: ${s.lastDrift.drift.join('; ') || 'changed'}; applied again` : 'none found');
  add('Agent', `${s.daemon.running ? `running (pid ${s.daemon.pid})` : 'NOT running'}, version ${s.agentVersion}${s.clock.testHook ? ', test clock' : ''}`);
  if (s.applied && s.daemon.running && (s.applied.mode !== s.machine.mode || s.applied.reason !== s.machine.reason)) add('Applied', `${s.applied.mode} (${s.applied.reason}) at ${s.applied.at}; changing now`);
  const w = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => v.split('\n').map((l, i) => `${(i === 0 ? k : '').padEnd(w)}${l}`).join('\n')).join('\n') + '\n';
}

/** " by user licence", " by device licence", " (NOT_IN_LICENSED_GROUP; first sign-in while offline: the device decides)"... */
function userLicence(u: AgentStatus['users'][number]): string {
  if (u.mode === 'full') return u.licence === 'user' ? ` by user licence${u.person ? ` of ${u.person}` : ''}` : ' by device licence';
  const first = u.firstSignIn === 'offline' ? '; first sign-in while offline: the device decides' : u.firstSignIn === 'pending' ? '; user licence not fetched yet: the device decides' : '';
  return ` (${u.reason}${first})`;
}
