// `devlic-agent enroll --server URL --token T | --token-file F`
import { UsageError } from '../../shared/cli.ts';
import { silentLogger } from '../../shared/log.ts';
import { COMMON_HELP, configFrom, parseCommand, type Command } from './common.ts';
import { enroll } from '../sync/enroll.ts';
import { clockFromEnv } from '../decision/clock.ts';
import { identitySourceFromEnv } from '../host/identity.ts';
import { sendControl } from '../runtime/control.ts';
import { agentPaths } from '../config.ts';
import { syncAndApplyOnce } from '../runtime/oneshot.ts';
import { enrollTokenHelp, ENROLL_TOKEN_OPTIONS, enrollTokenFrom } from './enroll-token.ts';

export const enrollCommand: Command = {
  summary: 'register this device with the licensing service',
  usage: `Usage: devlic-agent enroll --server URL (--token T | --token-file F) [options]

Registers this device: creates its key pair, sends its hardware facts and the
enroll token (from 'devlic-admin enroll-tokens create'), pins the service's
signing keys and syncs once. Also re-enrolls a device the service revoked:
with this device's current key (device-key.pem) it proves it is the same
device and keeps its id, groups and seat. Without that key (a reinstalled OS)
it enrolls as a new device, marked as a possible duplicate; an administrator
merges it into the old one with 'devlic-admin devices merge NEW OLD'.

  --server URL           the licensing service (config "server")
${enrollTokenHelp(25)}
  --ca-file F            trust only this CA for the service's TLS certificate
  --allow-insecure-http  allow plain http:// to a non-loopback server
  --json                 print the result as JSON
${COMMON_HELP}
`,
  async run(args) {
    const p = parseCommand(enrollCommand, args, {
      server: { type: 'string' }, ...ENROLL_TOKEN_OPTIONS, 'ca-file': { type: 'string' },
      'allow-insecure-http': { type: 'boolean' }, json: { type: 'boolean' },
    });
    if (!p) return 0;
    const v = p.values;
    const cfg = configFrom(v, {
      caFile: v['ca-file'] as string | undefined,
      allowInsecureHttp: (v['allow-insecure-http'] as boolean | undefined) || undefined,
    });
    const server = (v.server as string | undefined) ?? cfg.server;
    if (!server) throw new UsageError('--server URL is required (or set "server" in the config file)');
    const token = enrollTokenFrom(v);
    if (!token) throw new UsageError('an enroll token is required: --token T or --token-file F');
    const clock = clockFromEnv();
    const log = silentLogger();
    const { identity, previousDeviceId, duplicateOf, proofRefused } = await enroll({
      cfg, server, token, caFile: cfg.caFile, allowInsecureHttp: cfg.allowInsecureHttp, clock, log, identitySource: identitySourceFromEnv(),
    });
    // A running daemon picks up the new identity and syncs itself; otherwise sync once here.
    const daemon = (await sendControl(agentPaths(cfg.dataDir).socket, { cmd: 'reload' }).catch(() => null)) as { mode?: string; reason?: string } | null;
    let mode = daemon?.mode;
    let reason = daemon?.reason;
    let syncError: string | null = null;
    if (!daemon) {
      const r = await syncAndApplyOnce(cfg, clock, log);
      mode = r.decision.mode;
      reason = r.decision.reason;
      if (r.sync && !r.sync.ok) syncError = r.sync.error.message;
    }
    const out = {
      deviceId: identity.deviceId, server: identity.server, reenrolled: identity.reenrolled,
      previousDeviceId, duplicateOf, proofRefused, mode, reason, daemon: daemon !== null, syncError,
    };
    if (v.json) {
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      process.stdout.write(`Enrolled as device ${identity.deviceId} with ${identity.server}${identity.reenrolled ? ' (proved to be the same device: id, groups and seat kept)' : ''}.\n`);
      if (proofRefused) process.stdout.write(`The service did not accept this device's proof of its key (${proofRefused}), so it enrolled as a new device.\n`);
      if (duplicateOf) {
        process.stdout.write(`Warning: the service already knows a device with the same hardware (${duplicateOf}); this one is a new device,\n`
          + 'marked as a possible duplicate, and the other keeps its id, groups and seat.\n'
          + `  - Reinstalled machine: an administrator can give it back its id, groups and seat: devlic-admin devices merge ${identity.deviceId} ${duplicateOf}\n`
          + `  - A second agent or data folder on this machine (another than ${cfg.dataDir}): keep only one, or the machine is counted\n`
          + `    twice; to drop this one: devlic-admin devices retire ${identity.deviceId}, then remove ${cfg.dataDir}\n`);
      }
      process.stdout.write(`Mode: ${mode} (${reason})${syncError ? `; first sync failed: ${syncError}` : ''}\n`);
      if (!daemon) process.stdout.write("The agent service is not running here; start it ('devlic-agent run') to keep the mode up to date.\n");
    }
    return 0;
  },
};
