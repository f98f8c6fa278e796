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

export const refreshCommand: Command = {
  summary: 'sync with the service now and apply the result',
  usage: `Usage: devlic-agent refresh [--json] [options]

Asks the licensing service for this device's entitlement now and applies the
resulting mode, then checks that every enforcer still holds it (the drift
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
      { ok: boolean; error?: string | null; mode?: string; reason?: string; changed?: boolean; drift?: DriftRepair[] } | null;
    let result: { ok: boolean; error: string | null; mode?: string; reason?: string; changed?: boolean; drift: DriftRepair[]; via: 'agent' | 'direct' };
    if (viaDaemon) {
      result = { ok: viaDaemon.ok, error: viaDaemon.error ?? null, mode: viaDaemon.mode, reason: viaDaemon.reason, changed: viaDaemon.changed, drift: viaDaemon.drift ?? [], via: 'agent' };
    } else {
      const r = await syncAndApplyOnce(cfg, clockFromEnv(), silentLogger());
      result = {
        ok: r.sync?.ok ?? false,
        error: r.sync === null ? 'the service no longer accepts this device; re-enroll' : r.sync.ok ? null : r.sync.error.message,
        mode: r.decision.mode, reason: r.decision.reason, changed: r.sync?.ok ? r.sync.changed : false, drift: r.drift, via: 'direct',
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
    return result.ok ? 0 : 1;
  },
};
