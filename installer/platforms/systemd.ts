// systemd units for the agent and the licensing service, and the systemctl
// command lines that register and remove them. Pure: text and argv arrays
// only, so tests check them (`systemd-analyze verify` checks the units and
// `systemd-analyze security` scores them: agent <= 2.5, server <= 1.5).
import { isIP } from 'node:net';
import type { AgentLayout } from '../layout.ts';
import { SERVER_LAYOUT } from '../layout.ts';
import type { Command } from '../../shared/run.ts';
import { AGENT_MALLOC_TUNABLES } from '../../agent/runtime/v8-flags.ts';

export interface AgentUnitOptions {
  layout: Pick<AgentLayout, 'exe' | 'configFile' | 'dataDir'>;
  /**
   * Extra folders the agent writes besides its data folder: LibreOffice's
   * share/registry (the viewer-mode layer), a custom file-enforcer folder.
   * Each gets a "-" prefix: a folder that does not exist (LibreOffice not
   * installed yet) must not stop the service from starting.
   */
  readWritePaths?: string[];
  /** The server URL the agent talks to: an IP literal narrows the unit's IP allow list to it (see serverAddressLines). */
  server?: string;
}

// Paths go into unit files unquoted, so refuse what would change their meaning there.
function unitPath(p: string): string {
  if (!p.startsWith('/') || /[\s"'\\%$;]|[\u0000-\u001f]/.test(p)) {
    throw new Error(`path ${JSON.stringify(p)} cannot be used in a systemd unit (absolute, no spaces, quotes, %, $ or backslashes)`);
  }
  return p;
}

// The sandbox both services share. V8 writes machine code at run time, so
// MemoryDenyWriteExecute stays off; everything else a network daemon that
// touches no hardware can live without is taken away.
// System calls: the set systemd keeps for ordinary services, without the
// privileged and resource-tuning ones. A refused call fails with EPERM
// instead of killing the process: SQLite, running as root, fchown()s every
// new journal/WAL file to the database's owner and ignores a failure, and
// Node raises its file limit at start-up; neither may cost the service.
const COMMON_SANDBOX = [
  'NoNewPrivileges=yes',
  'ProtectSystem=strict',
  'PrivateTmp=yes',
  'ProtectKernelTunables=yes',
  'ProtectKernelModules=yes',
  'ProtectKernelLogs=yes',
  'ProtectControlGroups=yes',
  'ProtectClock=yes',
  'ProtectHostname=yes',
  'RestrictSUIDSGID=yes',
  'RestrictRealtime=yes',
  'RestrictNamespaces=yes',
  'LockPersonality=yes',
  'SystemCallArchitectures=native',
  'SystemCallFilter=@system-service',
  'SystemCallFilter=~@privileged @resources',
  'SystemCallErrorNumber=EPERM',
  // No other user's processes in /proc (hidepid=invisible); no /dev but the pseudo devices.
  'ProtectProc=invisible',
  'PrivateDevices=yes',
  'PrivateMounts=yes',
  'UMask=0077',
];

const VAR_LIB = '/var/lib/';

/** StateDirectory= for a folder under /var/lib (systemd creates it 0700 and makes it writable), else ReadWritePaths=. */
function dataDirLines(dataDir: string): string[] {
  const d = unitPath(dataDir).replace(/\/+$/, '');
  if (d.startsWith(VAR_LIB) && !d.slice(VAR_LIB.length).includes('/')) {
    return [`StateDirectory=${d.slice(VAR_LIB.length)}`, 'StateDirectoryMode=0700'];
  }
  return [`ReadWritePaths=${d}`];
}

/**
 * IPAddressDeny/Allow lines for the agent, from its server URL. systemd's
 * allow list takes addresses, not names, so:
 * - an IP literal (or `localhost`) server: everything else is denied. The
 *   agent talks to nothing but its server, and needs no DNS for it.
 * - a host name: no lines. Pinning the addresses the name resolves to at
 *   install time would cut the agent off from its server, silently, the day
 *   the name moves (a load balancer, a new host), and the name's resolver
 *   (a DHCP-given DNS server on a laptop that roams) would need allowing too.
 *   An administrator who knows the addresses are fixed adds them with
 *   `systemctl edit devlic-agent` (installer/INSTALL.md says how).
 * Bad or missing URL: no lines (the agent's own config check reports it).
 */
export function serverAddressLines(server: string | undefined): string[] {
  if (!server) return [];
  let host: string;
  try {
    host = new URL(server).hostname;
  } catch {
    return [];
  }
  const ip = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (ip.toLowerCase() === 'localhost') return ['IPAddressDeny=any', 'IPAddressAllow=localhost'];
  if (isIP(ip)) return ['IPAddressDeny=any', `IPAddressAllow=${ip}`];
  return [];
}

/**
 * What an install adds to the agent's unit: the folders its apps write and
 * the server's address. In the unit the installer writes, and as a drop-in
 * when the package owns the unit (so both say the same).
 */
export function agentInstallLines(opts: Pick<AgentUnitOptions, 'readWritePaths' | 'server'>): string[] {
  const rw = [...new Set(opts.readWritePaths ?? [])].map((p) => `-${unitPath(p)}`);
  return [...(rw.length ? [`ReadWritePaths=${rw.join(' ')}`] : []), ...serverAddressLines(opts.server)];
}

export function agentUnit(opts: AgentUnitOptions): string {
  const { exe, configFile, dataDir } = opts.layout;
  return [
    '# devlic-agent: device-based licensing agent. Written by `devlic-agent install`',
    '# or the devlic-agent package; local changes go in `systemctl edit devlic-agent`.',
    '[Unit]',
    'Description=devlic device agent (device-based licensing)',
    'After=network-online.target',
    'Wants=network-online.target',
    // The package installs the unit; the device is configured (and enrolled)
    // by `devlic-agent install`. Until then the unit is skipped, not failing.
    `ConditionPathExists=${unitPath(configFile)}`,
    // With Restart=always the agent must never be given up on.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${unitPath(exe)} run --config ${unitPath(configFile)}`,
    // A small daemon's malloc: give freed memory back (the agent drops this
    // from the environment of what it starts; agent/runtime/v8-flags.ts).
    `Environment=GLIBC_TUNABLES=${AGENT_MALLOC_TUNABLES}`,
    'Restart=always',
    'RestartSec=5',
    'TimeoutStopSec=30',
    // SIGTERM to the agent first (it stops cleanly), then to helpers it started (soffice read-back).
    'KillMode=mixed',
    // JSON lines on stdout go to the journal: `journalctl -u devlic-agent`. Each starts with
    // its priority (`<3>` for errors, shared/journal.ts), which journald reads because
    // SyslogLevelPrefix= stays at its default, yes: `journalctl -u devlic-agent -p err`.
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=devlic-agent',
    ...dataDirLines(dataDir),
    ...agentInstallLines(opts),
    ...COMMON_SANDBOX,
    // Reads /var/run/utmp and the hardware identity; never needs to write a home folder.
    'ProtectHome=read-only',
    // Root, but with no capability at all. Everything the agent writes (its
    // data folder, LibreOffice's registry layer, the file enforcer's JSON) and
    // every hook it runs must be owned by root along the whole path
    // (agent/host/safe-path.ts), so root's ordinary owner rights suffice; it
    // signals only its own children (same user). Hooks inherit this: a hook
    // that must signal users' processes or change others' files needs
    // `systemctl edit devlic-agent` (installer/INSTALL.md).
    'CapabilityBoundingSet=',
    // Netlink: the network-interface facts of the device identity.
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function serverUnit(): string {
  const s = SERVER_LAYOUT;
  return [
    '# devlic-server: the devlic licensing service. Installed by the devlic-server package;',
    `# settings in ${s.configFile}, local changes in \`systemctl edit devlic-server\`.`,
    '[Unit]',
    'Description=devlic licensing service',
    'After=network-online.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${s.exe} serve --config ${s.configFile}`,
    // A system user of its own: the service needs no root, and its data (signing key, database) is its alone.
    `User=${s.user}`,
    `Group=${s.user}`,
    ...dataDirLines(s.dataDir),
    'Restart=always',
    'RestartSec=2',
    // With `workers` above 1 the main process is the cluster primary: it alone gets SIGTERM and stops its
    // workers the usual way (held long-polls answered); whatever is still running at the timeout gets SIGKILL.
    'KillMode=mixed',
    'TimeoutStopSec=30',
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=devlic-server',
    ...COMMON_SANDBOX,
    'ProtectHome=yes',
    // No SysV IPC objects outlive the service's user.
    'RemoveIPC=yes',
    // Only so that "listen": "0.0.0.0:443" works without running as root.
    'AmbientCapabilities=CAP_NET_BIND_SERVICE',
    'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** systemctl calls after the unit file is in place: load it, start at boot, (re)start now with the new program. */
export function systemdRegister(unit: string): Command[] {
  return [
    { file: 'systemctl', serviceManager: true, args: ['daemon-reload'] },
    { file: 'systemctl', serviceManager: true, args: ['enable', `${unit}.service`] },
    { file: 'systemctl', serviceManager: true, args: ['restart', `${unit}.service`] },
  ];
}

/** Before removing the unit file: stop it and drop it from boot. Tolerant: it may not be there. */
export function systemdStop(unit: string): Command[] {
  return [{ file: 'systemctl', serviceManager: true, args: ['disable', '--now', `${unit}.service`], allowFail: true }];
}

/** After removing the unit file: forget it. */
export function systemdForget(unit: string): Command[] {
  return [
    { file: 'systemctl', serviceManager: true, args: ['daemon-reload'] },
    { file: 'systemctl', serviceManager: true, args: ['reset-failed', `${unit}.service`], allowFail: true },
  ];
}
