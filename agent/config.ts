// The agent's configuration: schema, documented defaults, and the paths of the
// files it keeps in its data directory. Loaded with the one shared loader
// (shared/config.ts): defaults < config file < command-line flags.
//
// Defaults (all overridable in /etc/devlic/agent.json):
//   dataDir            /var/lib/devlic (macOS /Library/Application Support/devlic, Windows %ProgramData%\devlic)
//   server             none: `enroll --server URL` records it in identity.json
//   caFile             none: system roots (when set, the ONLY roots trusted for the server)
//   allowInsecureHttp  false: plain http:// only to loopback
//   waitSeconds        55: long-poll hold asked of the service at first, and the shortest (0 = plain polling)
//   maxWaitSeconds     300: the agent lengthens its hold step by step after holds that ended normally,
//                      up to this; a hold cut by the network (proxy, NAT) sends it back to the longest
//                      that worked, learned per server in longpoll-hold.json (agent/sync/hold.ts).
//                      Set it to waitSeconds (or lower) for a fixed hold of waitSeconds.
//   waitGrowAfterSeconds 600: holds of one length must have ended normally this long in a row
//                      before the next longer one is tried (55 s to 300 s in about 45 minutes)
//   requestTimeoutSeconds 15: connect/response timeout on top of the long-poll wait
//   maxResponseBytes   65536: larger answers are refused
//   refreshSchedule    "*/15 * * * *": safety-net sync (also renews a token past refreshAfter)
//   statusSchedule     "*/5 * * * *": status report to the service
//   expirySchedule     "* * * * *": re-decide (warning at warnAt, read-only at exp)
//   pruneSchedule      "17 3 * * *": event log pruning
//   verifySchedule     "* * * * *": drift check: each enforcer's actual state against the applied mode, repaired where it differs
//   logRetentionDays   30
//   utmpPath           /var/run/utmp (Linux sign-in watching)
//   sessionPollSeconds 15: fallback poll of sign-ins when file watching misses an event
//   apps               [{"name":"file"}]: enforcers, see agent/enforce/registry.ts
import { join } from 'node:path';
import Type from 'typebox';
import cron from 'node-cron';
import { loadConfig } from '../shared/config.ts';
import { MAX_WAIT_SECONDS } from '../shared/api.ts';
import { AppConfig } from './enforce/registry.ts';
import { assertTrustedFile } from './host/fsutil.ts';
import { AgentError } from './errors.ts';
import { existsSync } from 'node:fs';

const Schedule = Type.String({ minLength: 9, maxLength: 64 });

export const AgentConfig = Type.Object({
  dataDir: Type.String({ minLength: 1 }),
  server: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  caFile: Type.Optional(Type.String({ minLength: 1 })),
  allowInsecureHttp: Type.Boolean(),
  waitSeconds: Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS }),
  maxWaitSeconds: Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS }),
  waitGrowAfterSeconds: Type.Integer({ minimum: 1, maximum: 7 * 86400 }),
  requestTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 300 }),
  maxResponseBytes: Type.Integer({ minimum: 1024, maximum: 1_048_576 }),
  refreshSchedule: Schedule,
  statusSchedule: Schedule,
  expirySchedule: Schedule,
  pruneSchedule: Schedule,
  verifySchedule: Schedule,
  logRetentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  utmpPath: Type.String({ minLength: 1 }),
  sessionPollSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  apps: Type.Array(AppConfig, { maxItems: 32 }),
}, { additionalProperties: false });
export type AgentConfig = Type.Static<typeof AgentConfig>;

export function defaultDataDir(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return '/Library/Application Support/devlic';
  if (platform === 'win32') return join(process.env.ProgramData ?? 'C:\\ProgramData', 'devlic');
  return '/var/lib/devlic';
}

export function defaultConfigFile(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'linux') return '/etc/devlic/agent.json';
  return join(defaultDataDir(platform), 'agent.json');
}

export function defaults(): AgentConfig {
  return {
    dataDir: defaultDataDir(),
    allowInsecureHttp: false,
    waitSeconds: 55,
    maxWaitSeconds: MAX_WAIT_SECONDS,
    waitGrowAfterSeconds: 600,
    requestTimeoutSeconds: 15,
    maxResponseBytes: 64 * 1024,
    refreshSchedule: '*/15 * * * *',
    statusSchedule: '*/5 * * * *',
    expirySchedule: '* * * * *',
    pruneSchedule: '17 3 * * *',
    verifySchedule: '* * * * *',
    logRetentionDays: 30,
    utmpPath: '/var/run/utmp',
    sessionPollSeconds: 15,
    apps: [{ name: 'file' }] as AgentConfig['apps'],
  };
}

/**
 * Loads the config. An explicitly given --config must exist; the default path
 * is optional. The file decides which commands enforcers run, so it must not be
 * writable by other users.
 */
export function loadAgentConfig(opts: { configFile?: string; overrides?: Partial<AgentConfig> }): AgentConfig {
  const file = opts.configFile ?? defaultConfigFile();
  if (existsSync(file)) assertTrustedFile(file, 'config file');
  const cfg = loadConfig(AgentConfig, defaults(), { file, fileRequired: opts.configFile !== undefined, overrides: opts.overrides });
  for (const key of ['refreshSchedule', 'statusSchedule', 'expirySchedule', 'pruneSchedule', 'verifySchedule'] as const) {
    if (!cron.validate(cfg[key])) throw new AgentError(`configuration: ${key} '${cfg[key]}' is not a valid cron expression`, `fix it in ${file}`);
  }
  return cfg;
}

/** Files the agent keeps in its data directory. */
export interface AgentPaths {
  dataDir: string;
  db: string;
  identity: string;
  deviceKey: string;
  watermark: string;
  /** Per-person user-entitlement watermarks (issue 16). */
  userWatermarks: string;
  /** The long-poll hold learned per server (agent/store/hold-file.ts). */
  longPollHold: string;
  socket: string;
}

export function agentPaths(dataDir: string): AgentPaths {
  return {
    dataDir,
    db: join(dataDir, 'agent.db'),
    identity: join(dataDir, 'identity.json'),
    deviceKey: join(dataDir, 'device-key.pem'),
    watermark: join(dataDir, 'watermark.json'),
    userWatermarks: join(dataDir, 'user-watermarks.json'),
    longPollHold: join(dataDir, 'longpoll-hold.json'),
    // Windows has no Unix sockets in a directory; a named pipe per data dir.
    socket: process.platform === 'win32'
      ? `\\\\.\\pipe\\devlic-agent-${Buffer.from(dataDir).toString('hex').slice(0, 40)}`
      : join(dataDir, 'agent.sock'),
  };
}
