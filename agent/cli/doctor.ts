// `devlic-agent doctor`: checks that can each fail with a clear reason -
// data dir and key permissions, database integrity, the cached token, the
// clock (against trusted time and the service's), the service's reachability
// and keys, test hooks in use, and each enforcer (including whether the hook
// or target paths are safe from non-root users), whether each enforcer still
// holds the applied mode (drift), the last drift repaired; per signed-in
// person (issue 16), the mode their cached user licence and the device's give
// them (decideUser, as the daemon decides); and whether the systemd unit's
// network allow list still lets the running agent reach its server. Exits 1
// if any check fails.
import { silentLogger } from '../../shared/log.ts';
import { API } from '../../shared/api.ts';
import { extendPins } from '../../shared/keychain.ts';
import { COMMON_HELP, configFrom, parseCommand, type Command } from './common.ts';
import { agentPaths, type AgentConfig } from '../config.ts';
import { clockFromEnv, type Clock } from '../decision/clock.ts';
import { fileMode } from '../host/fsutil.ts';
import { damageCode, DatabaseDamagedError, openDbReadOnly } from '../store/db.ts';
import { Store } from '../store/store.ts';
import { readDeviceKey, readIdentity, readUserWatermarks, readWatermark, type StoredIdentity } from '../store/files.ts';
import { evaluateUsers, signInNames } from '../decision/evaluate-users.ts';
import type { Decision } from '../decision/decide.ts';
import { clockInput, evaluate } from '../decision/evaluate.ts';
import { judgeClock, CLOCK_TOLERANCE_MS } from '../decision/decide.ts';
import type { HttpClient } from '../sync/client.ts';
import { serviceClient } from '../sync/connect.ts';
import { fetchKeySet } from '../sync/keys.ts';
import { createEnforcers } from '../enforce/registry.ts';
import { enforcerContext } from '../enforce/apply.ts';
import { sendControl } from '../runtime/control.ts';
import { statSync } from 'node:fs';
import { lastDrift } from '../report/status.ts';
import { judgeServer, networkPolicy, readAgentUnit } from '../host/unit-network.ts';
import type { Mode } from '../../shared/schemas/common.ts';
import type { AgentError } from '../errors.ts';

type Level = 'ok' | 'warn' | 'fail';
interface Check { name: string; status: Level; message: string }

async function runChecks(cfg: AgentConfig, clock: Clock): Promise<Check[]> {
  const out: Check[] = [];
  const add = (name: string, status: Level, message: string) => out.push({ name, status, message });
  const paths = agentPaths(cfg.dataDir);
  const posix = process.platform !== 'win32';

  // Data directory and files.
  let dirOk = false;
  try {
    const st = statSync(paths.dataDir);
    const mode = st.mode & 0o777;
    dirOk = true;
    if (posix && mode !== 0o700) add('data-dir', 'fail', `${paths.dataDir} has mode ${mode.toString(8)}; it must be 700 (chmod 700 ${paths.dataDir})`);
    else add('data-dir', 'ok', `${paths.dataDir} is private`);
  } catch {
    add('data-dir', 'fail', `${paths.dataDir} does not exist; enroll first (devlic-agent enroll)`);
  }
  let identity: StoredIdentity | null = null;
  try {
    identity = readIdentity(paths.identity);
    if (!identity) add('enrollment', 'fail', "not enrolled: run 'devlic-agent enroll --server URL --token T'");
    else if (identity.revoked) add('enrollment', 'fail', `the service no longer accepts this device (${identity.revoked.message}); re-enroll with a new token`);
    else add('enrollment', 'ok', `device ${identity.deviceId} at ${identity.server}`);
  } catch (e) {
    add('enrollment', 'fail', (e as Error).message);
  }
  if (identity && posix) {
    for (const [name, p] of [['identity-file', paths.identity], ['device-key', paths.deviceKey]] as const) {
      const m = fileMode(p);
      if (m === null) add(name, 'fail', `${p} is missing; re-enroll`);
      else if (m & 0o077) add(name, 'fail', `${p} has mode ${m.toString(8)}; it must be 600 (chmod 600 ${p})`);
      else add(name, 'ok', `${p} is 600`);
    }
    try {
      readDeviceKey(paths.deviceKey);
    } catch (e) {
      add('device-key', 'fail', (e as Error).message);
    }
  }

  // Database.
  let store: Store | null = null;
  if (dirOk) {
    try {
      const db = openDbReadOnly(paths.db);
      if (!db) add('database', identity ? 'fail' : 'warn', `${paths.db} does not exist yet`);
      else {
        const s = new Store(db);
        const res = s.integrityCheck();
        if (res.length === 1 && res[0] === 'ok') {
          add('database', 'ok', 'integrity check passed');
          store = s;
        } else {
          s.close();
          add('database', 'fail', `integrity check failed: ${res.slice(0, 3).join('; ')}; it is a cache: the agent rebuilds it when it starts (restart the devlic-agent service, or run 'devlic-agent run')`);
        }
      }
    } catch (e) {
      const code = damageCode(e);
      const err = code ? new DatabaseDamagedError(paths.db, code, (e as Error).message) : e as AgentError;
      add('database', 'fail', `${err.message}${err.hint ? `; ${err.hint}` : ''}`);
    }
  }

  // Cached entitlement and the clock.
  const now = clock.now();
  if (identity && store) {
    const ev = await evaluate({ identity, store, watermark: readWatermark(paths.watermark), nowMs: now });
    if (ev.entitlement.kind === 'valid') add('entitlement', 'ok', `${ev.claims!.status} (seq ${ev.claims!.seq}); mode ${ev.decision.mode} (${ev.decision.reason})`);
    else if (ev.entitlement.kind === 'none') add('entitlement', 'fail', 'no entitlement cached; the device cannot be in full mode until it syncs');
    else add('entitlement', 'fail', `cached entitlement rejected: ${ev.entitlement.message}`);
    const t = store.getTrustedTime();
    const ci = clockInput(store, identity, readWatermark(paths.watermark));
    if (t || ci.observed) {
      const j = judgeClock(ci, now);
      if (j.ok) add('clock', 'ok', t ? `consistent with trusted time (latest ${new Date(t.highWaterMs).toISOString()})` : 'consistent with the latest time this device observed');
      else add('clock', 'fail', `${j.detail}; connect to the network (and fix the date/time if it is wrong), then run 'devlic-agent refresh'`);
    }
    await checkPeople(identity, store, ev.decision, readWatermark(paths.watermark), readUserWatermarks(paths.userWatermarks), now, add);
  }
  // For the drift check below: the mode last applied, and the last repair.
  const applied = store?.getDecision() ?? null;
  const drifted = lastDrift(store);
  store?.close();

  // The service.
  if (identity && !identity.revoked) {
    let http: HttpClient | null = null;
    try {
      http = serviceClient(cfg, identity, Math.min(cfg.requestTimeoutSeconds, 10) * 1000);
      const h = await http.send('GET', API.health);
      if (h.status >= 200 && h.status < 300) add('server', 'ok', `${identity.server} answers`);
      else add('server', 'fail', `${identity.server}${API.health} answered HTTP ${h.status}`);
      if (h.serverDateMs !== undefined) {
        const skew = h.serverDateMs - now;
        if (Math.abs(skew) > CLOCK_TOLERANCE_MS) add('clock-vs-server', 'fail', `this device's clock differs from the service's by ${Math.round(skew / 1000)} s; fix the date/time (NTP)`);
        else add('clock-vs-server', 'ok', `within ${Math.ceil(Math.abs(skew) / 1000)} s of the service`);
      }
      await checkSigningKeys(http, identity, now, add);
    } catch (e) {
      add('server', 'fail', `${(e as Error).message}; check the network, DNS, proxy and TLS (CA file) settings`);
    } finally {
      await http?.close().catch(() => undefined);
    }
  }

  // The service unit's network allow list (Linux): the running agent is held to it, this command is not.
  if (identity && process.platform === 'linux') {
    const unit = readAgentUnit();
    if (unit) {
      const v = judgeServer(identity.server, networkPolicy(unit));
      add('unit-network', v.level, v.message);
    }
  }

  // Test hooks (source runs only; release executables are built without them).
  if (typeof DEVLIC_RELEASE_BUILD === 'undefined') {
    const on = ['DEVLIC_FAKE_NOW_FILE', 'DEVLIC_FAKE_IDENTITY_FILE'].filter((k) => process.env[k]);
    if (on.length) add('test-hooks', 'warn', `test hooks active in this process: ${on.map((k) => `${k}=${process.env[k]}`).join(', ')}${clock.fake ? ' (this clock is fake)' : ''}; never set them on a real device`);
  }

  // Enforcers (each checks that the paths it runs or writes through are safe).
  for (const e of createEnforcers(cfg.apps, enforcerContext(cfg.dataDir, silentLogger()))) {
    try {
      const r = await e.check();
      add(`enforcer:${e.name}`, r.ok ? 'ok' : 'fail', r.message);
    } catch (err) {
      add(`enforcer:${e.name}`, 'fail', (err as Error).message);
    }
    // Read-only: the running agent repairs drift itself, so this only warns.
    if (!applied) continue;
    try {
      const v = await e.verify({ mode: applied.mode as Mode, reason: applied.reason, users: applied.users });
      if (v.drift.length) {
        add(`drift:${e.name}`, 'warn', `${v.drift.join('; ')}: the running agent applies ${applied.mode} again within a minute (or now: devlic-agent refresh)`);
      } else {
        add(`drift:${e.name}`, 'ok', `holds the applied mode (${applied.mode})`);
      }
    } catch (err) {
      add(`drift:${e.name}`, 'warn', `could not check: ${(err as Error).message}`);
    }
  }
  add('last-drift', 'ok', drifted
    ? `${drifted.at}: ${drifted.enforcer}: ${drifted.drift.join('; ') || 'changed'}; applied again`
    : 'no drift repaired in the kept event log');

  const ping = await sendControl(paths.socket, { cmd: 'ping' }, 2000).catch(() => null);
  add('agent', ping ? 'ok' : 'warn', ping ? 'the agent is running' : "the agent is not running (start the devlic-agent service, or 'devlic-agent run')");
  return out;
}

/**
 * Each signed-in person's mode from what is cached (the device's decision
 * and their user licence), judged as the daemon judges it. A cached user
 * licence that fails its checks fails; no user licence yet warns; a person
 * who simply holds no licence is a state, not a fault.
 */
async function checkPeople(identity: StoredIdentity, store: Store, device: Decision, watermark: ReturnType<typeof readWatermark>,
  userWatermarks: ReturnType<typeof readUserWatermarks>, now: number, add: (n: string, s: Level, m: string) => void): Promise<void> {
  const { names, refused } = signInNames([...new Set(store.openSessions().map((x) => x.user))]);
  const online = store.getSyncState().lastOk !== false;
  const people = await evaluateUsers({ identity, store, device, watermark, userWatermarks, users: names, nowMs: now, online: () => online });
  for (const p of people) {
    const name = `user:${p.user}`;
    if (p.mode === 'full') add(name, 'ok', `full by the ${p.licence} licence (${p.reason})`);
    else if (p.firstSignIn) {
      add(name, 'warn', `no user licence known for this person yet: ${p.mode} as the device decides (${p.reason}); the running agent asks the service at sign-in, or run 'devlic-agent refresh'`);
    } else if (p.userReason === 'TOKEN_INVALID' || p.userReason === 'TOKEN_OTHER_DEVICE') {
      add(name, 'fail', `cached user licence rejected (${p.userReason}: ${p.detail ?? '-'}); run 'devlic-agent refresh'`);
    } else add(name, 'ok', `read-only: neither the device nor a user licence covers this person (${p.reason})`);
  }
  for (const r of refused) add(`user:${r}`, 'warn', 'this account name is no sign-in name (docs/design.md, "Sign-in names"): only the device licence can cover it');
}

/**
 * Whether the key the service signs with now is pinned, or at least reachable
 * through its published chain from a pinned key (then the next sync pins it).
 */
async function checkSigningKeys(http: HttpClient, identity: StoredIdentity, now: number, add: (n: string, s: Level, m: string) => void): Promise<void> {
  const pinned = identity.keys.keys.flatMap((k) => (k.kid ? [k.kid] : []));
  const pins = `pinned: ${pinned.join(', ')}`;
  let set;
  try {
    set = await fetchKeySet(http, now);
  } catch (e) {
    add('signing-keys', 'warn', `could not read ${API.keySet}: ${(e as Error).message} (${pins})`);
    return;
  }
  const active = set.keys.keys.at(-1)?.kid;
  if (!active) add('signing-keys', 'warn', `the service publishes no signing key (${pins})`);
  else if (pinned.includes(active)) add('signing-keys', 'ok', `the service signs with pinned key ${active} (${pins})`);
  else {
    try {
      if (set.issuer !== identity.issuer) throw new Error(`the key set is for issuer ${set.issuer}, not ${identity.issuer}`);
      await extendPins({ pinned: identity.keys.keys, issuer: identity.issuer, links: set.chain, want: active });
      add('signing-keys', 'ok', `the service signs with new key ${active}, endorsed by a pinned key; the agent pins it at its next sync (${pins})`);
    } catch (e) {
      add('signing-keys', 'fail', `the service's signing key ${active} is not endorsed by a key this device trusts: ${(e as Error).message} (${pins}); `
        + 'suspect an attacker between device and service; re-enroll only if the service\'s keys were really lost');
    }
  }
}

export const doctorCommand: Command = {
  summary: 'check that this device can be licensed and enforced',
  usage: `Usage: devlic-agent doctor [--json] [options]

Checks file permissions, the database, the cached entitlement, the clock, the
service and each enforcer. Exits 1 if any check fails.

  --json           print the checks as JSON
${COMMON_HELP}
`,
  async run(args) {
    const p = parseCommand(doctorCommand, args, { json: { type: 'boolean' } });
    if (!p) return 0;
    const checks = await runChecks(configFrom(p.values), clockFromEnv());
    const ok = checks.every((c) => c.status !== 'fail');
    if (p.values.json) process.stdout.write(JSON.stringify({ ok, checks }, null, 2) + '\n');
    else {
      for (const c of checks) process.stdout.write(`${{ ok: '[ ok ]', warn: '[warn]', fail: '[FAIL]' }[c.status]} ${c.name}: ${c.message}\n`);
      process.stdout.write(ok ? 'All checks passed.\n' : 'Some checks failed.\n');
    }
    return ok ? 0 : 1;
  },
};
