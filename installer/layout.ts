// Where devlic's programs, configuration, data and service definitions go on
// each platform. One table, used by the installer, the .deb builder, the
// service-file generators and the tests, so they cannot disagree.
//
// Program folder: one self-contained, root-owned folder per program
// (executable + better_sqlite3.node, which must stay side by side and be
// replaced together), plus a symlink on the PATH:
// - Linux, the .deb: /usr/lib/devlic, link /usr/bin/devlic-agent. A Debian
//   package may not ship files in /opt (lintian dir-or-file-in-opt: /opt is
//   the local administrator's); a program's private folder under /usr/lib
//   with a link on the PATH is how Debian ships chromium and firefox-esr.
// - Linux, `devlic-agent install` from the release archive: /opt/devlic, link
//   /usr/local/bin/devlic-agent. That is local add-on software with its own
//   runtime, which FHS puts in /opt/<package>; /usr/lib belongs to dpkg.
//   With the .deb installed, `install` uses the package's program instead
//   (packagedProgram below, used by install-cli.ts).
// - macOS: /usr/local/devlic (like /usr/local/jamf, /usr/local/munki), link in /usr/local/bin.
// - Windows: %ProgramFiles%\devlic, writable by Administrators only.
// Config and data follow docs/design.md and the agent's own defaults.
import { posix, win32 } from 'node:path';

export type Platform = 'linux' | 'darwin' | 'win32';

export const ADDON = 'better_sqlite3.node';

export interface AgentLayout {
  platform: Platform;
  /** Root-owned folder holding the executable and the addon. */
  programDir: string;
  exe: string;
  addon: string;
  /** Symlink on the PATH to `exe`, or null (Windows: none, use the full path or PATH). */
  binLink: string | null;
  configFile: string;
  /** Folder of the config file (created 0755; on macOS and Windows it is the data folder). */
  configDir: string;
  dataDir: string;
  /** Service identity: systemd unit name / launchd label / Windows service name. */
  serviceName: string;
  /** The unit, plist or WinSW service XML. */
  serviceFile: string;
  /** launchd's and WinSW's log folder; null where the journal takes the logs. */
  logDir: string | null;
}

export interface LayoutOptions {
  /** The .deb layout: program in /usr/lib/devlic, unit in /usr/lib/systemd/system, link in /usr/bin. */
  packaged?: boolean;
  /** Windows: %ProgramFiles% and %ProgramData% (defaults: C:\Program Files, C:\ProgramData). */
  env?: Record<string, string | undefined>;
  dataDir?: string;
  configFile?: string;
}

export function agentLayout(platform: Platform, opts: LayoutOptions = {}): AgentLayout {
  if (platform === 'win32') {
    const env = opts.env ?? {};
    const programDir = win32.join(env.ProgramFiles ?? 'C:\\Program Files', 'devlic');
    const dataDir = opts.dataDir ?? win32.join(env.ProgramData ?? 'C:\\ProgramData', 'devlic');
    const configFile = opts.configFile ?? win32.join(dataDir, 'agent.json');
    return {
      platform, programDir, exe: win32.join(programDir, 'devlic-agent.exe'), addon: win32.join(programDir, ADDON),
      binLink: null, configFile, configDir: win32.dirname(configFile), dataDir,
      serviceName: 'devlic-agent', serviceFile: win32.join(programDir, 'devlic-agent-service.xml'),
      logDir: win32.join(dataDir, 'logs'),
    };
  }
  if (platform === 'darwin') {
    const programDir = '/usr/local/devlic';
    const dataDir = opts.dataDir ?? '/Library/Application Support/devlic';
    const configFile = opts.configFile ?? posix.join(dataDir, 'agent.json');
    return {
      platform, programDir, exe: posix.join(programDir, 'devlic-agent'), addon: posix.join(programDir, ADDON),
      binLink: '/usr/local/bin/devlic-agent', configFile, configDir: posix.dirname(configFile), dataDir,
      serviceName: 'com.devlic.agent', serviceFile: '/Library/LaunchDaemons/com.devlic.agent.plist',
      logDir: '/Library/Logs/devlic',
    };
  }
  const programDir = opts.packaged ? '/usr/lib/devlic' : '/opt/devlic';
  const configFile = opts.configFile ?? '/etc/devlic/agent.json';
  return {
    platform, programDir, exe: posix.join(programDir, 'devlic-agent'), addon: posix.join(programDir, ADDON),
    binLink: opts.packaged ? '/usr/bin/devlic-agent' : '/usr/local/bin/devlic-agent',
    configFile, configDir: posix.dirname(configFile), dataDir: opts.dataDir ?? '/var/lib/devlic',
    serviceName: 'devlic-agent',
    // /etc/systemd/system is the administrator's; a package's units live in /usr/lib.
    serviceFile: opts.packaged ? '/usr/lib/systemd/system/devlic-agent.service' : '/etc/systemd/system/devlic-agent.service',
    logDir: null,
  };
}

/** The licensing service on Linux (packaged with a .deb; DESIGN: data in /var/lib/devlic-server). */
export const SERVER_LAYOUT = {
  programDir: '/usr/lib/devlic-server',
  exe: '/usr/lib/devlic-server/devlic-server',
  addon: `/usr/lib/devlic-server/${ADDON}`,
  binLink: '/usr/bin/devlic-server',
  configFile: '/etc/devlic-server/server.json',
  dataDir: '/var/lib/devlic-server',
  user: 'devlic-server',
  serviceName: 'devlic-server',
  serviceFile: '/usr/lib/systemd/system/devlic-server.service',
} as const;

/**
 * The layout `install` works with when the .deb is installed: the package's
 * program (its executable enrolls), everything else as without the package
 * (the unit stays dpkg's; install writes only a drop-in).
 */
export function packagedProgram(layout: AgentLayout): AgentLayout {
  const pkg = agentLayout(layout.platform, { packaged: true });
  return { ...layout, programDir: pkg.programDir, exe: pkg.exe, addon: pkg.addon };
}

/** Path helpers for the layout's platform (tests run Windows layouts on Linux). */
export function pathFor(platform: Platform): typeof posix {
  return platform === 'win32' ? win32 : posix;
}
