// `devlic-agent refresh`: ask the service now. With the agent running, the
// request goes to it over the control socket (one writer, and the mode is
// applied at once); without it, this command syncs, caches and applies itself.
import { silentLogger } from '../../shared/log.ts';
import { COMMON_HELP, configFrom, parseCommand, type Command } from './common.ts';
import { agentPaths } from '../config.ts';
import { sendControl } from '../runtime/control.ts';
import { syncAndApplyOnce } from '../runtime/oneshot.ts';
import { clockFromEnv } from '../decision/clock.ts';
import type { DriftRepair } from '../enforce/apply.ts';

/** One signed-in person's outcome (issue 16): their mode, which licence gave it, why. */
export interface RefreshUser { user: string; mode: string; licence: 'device' | 'user' | null; reason: string; firstSignIn?: string }

export const refreshCommand: Command = {
  summary: 'sync with the service now and apply the result',
  usage: `Usage: devlic-agent refresh [--json] [options]

Asks the licensing service for this device's entitlement, and the user
licence of each person signed in, now; decides each person's mode (full when
the device or their own licence is valid) and applies it, then checks that every enforcer still holds it (the drift
check) and applies it again where something changed it.
Safe while the agent runs (it asks the agent to do it).
Exits 1 if the service could not be reached (the cached entitlement stays).

  --json           print the result as JSON
${COMMON_HELP}
`,
  async run(args) {
    const p = parseCommand(refreshCommand, args, { json: { type: 'boolean' } });
    if (!p) return 0;
    const cfg = configFrom(p.values);
    const viaDaemon = (await sendControl(agentPaths(cfg.dataDir).socket, { cmd: 'refresh' }, 120_000)) as
      { ok: boolean; error?: string | null; mode?: string; reason?: string; changed?: boolean; drift?: DriftRepair[]; users?: RefreshUser[] } | null;
    let result: { ok: boolean; error: string | null; mode?: string; reason?: string; changed?: boolean; drift: DriftRepair[]; users: RefreshUser[]; via: 'agent' | 'direct' };
    if (viaDaemon) {
      result = {
        ok: viaDaemon.ok, error: viaDaemon.error ?? null, mode: viaDaemon.mode, reason: viaDaemon.reason, changed: viaDaemon.changed, drift: viaDaemon.drift ?? [],
        users: viaDaemon.users ?? [], via: 'agent',
      };
    } else {
      const r = await syncAndApplyOnce(cfg, clockFromEnv(), silentLogger());
      result = {
        ok: r.sync?.ok ?? false,
        error: r.sync === null ? 'the service no longer accepts this device; re-enroll' : r.sync.ok ? null : r.sync.error.message,
        mode: r.decision.mode, reason: r.decision.reason, changed: r.sync?.ok ? r.sync.changed : false, drift: r.drift,
        users: r.users.map((u) => ({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason, ...(u.firstSignIn ? { firstSignIn: u.firstSignIn } : {}) })), via: 'direct',
      };
    }
    if (!p.values.json) {
      for (const d of result.drift) {
        process.stdout.write(`Drift: ${d.enforcer}: ${d.drift.join('; ')}: ${d.ok ? 'applied again' : `NOT repaired: ${d.error}`}\n`);
      }
    }
    if (p.values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else if (result.ok) process.stdout.write(`Synced${result.changed ? ' (entitlement updated)' : ''}. Mode: ${result.mode} (${result.reason})\n`);
    else process.stderr.write(`devlic-agent: sync failed: ${result.error}\nMode stays: ${result.mode} (${result.reason}). Check 'devlic-agent doctor'.\n`);
    if (!p.values.json) {
      for (const u of result.users) {
        const by = u.licence ? `${u.licence} licence` : u.reason;
        process.stdout.write(`User ${u.user}: ${u.mode} (${by})${u.firstSignIn ? `, no user licence known yet (${u.firstSignIn})` : ''}\n`);
      }
    }
    return result.ok ? 0 : 1;
  },
};
