// One interface over systemd, launchd and the Windows service manager, so the
// install/uninstall sequence (installer/install.ts) is written once: which
// service-definition files to write, and which commands register, start,
// stop and forget the service. Commands go through the Runner (recorded in
// tests); files are written by the caller, inside its transaction.
import { posix } from 'node:path';
import type { AgentLayout } from '../layout.ts';
import type { Command, Runner } from '../../shared/run.ts';
import { agentInstallLines, agentUnit, systemdForget, systemdRegister, systemdStop } from './systemd.ts';
import { agentPlist, launchdRegister, launchdStop, NEWSYSLOG_FILE, newsyslogConf } from './launchd.ts';
import {
  parseScQuery, restrictDataDir, scConfigure, scDefine, scDelete, scQuery, scStart, scStop, WINSW_EXE, winswXml,
} from './windows.ts';

export interface ServiceFile {
  path: string;
  content: string;
  mode: number;
}

export interface ManagerOptions {
  layout: AgentLayout;
  /** The package owns the unit: only a drop-in with the install's extra paths is written. */
  packaged: boolean;
  /** Extra writable folders for the systemd sandbox (LibreOffice registry...). */
  readWritePaths: string[];
  /** The server URL from the config: an IP literal narrows the systemd unit's IP allow list to it. */
  server?: string;
}

export interface ServiceManager {
  /** Service-definition files this install writes. */
  files(): ServiceFile[];
  /** Every file any install may have written, for uninstall. */
  allFiles(): string[];
  /** Extra program files beside the executable (Windows: the WinSW host). */
  extraProgramFiles: string[];
  /** Before program files are replaced: a running program that locks its files must stop (Windows). */
  beforeProgramFiles(run: Runner): Promise<void>;
  /** Whether beforeProgramFiles stopped a running service (a failed install must start it again). */
  stoppedBefore(): boolean;
  /** After the data folder exists, before anything secret is written into it. */
  secureDataDir(run: Runner): Promise<void>;
  /** After the files: register, enable at boot, (re)start. */
  register(run: Runner): Promise<void>;
  /** Stop and unregister (tolerant: nothing may be registered). */
  unregister(run: Runner): Promise<void>;
  /** After the definition files are gone. */
  forget(run: Runner): Promise<void>;
}

async function runAll(run: Runner, cmds: Command[]): Promise<void> {
  for (const c of cmds) await run.run(c);
}

export const SYSTEMD_DROPIN_DIR = '/etc/systemd/system/devlic-agent.service.d';
export const SYSTEMD_DROPIN = posix.join(SYSTEMD_DROPIN_DIR, 'devlic-install.conf');
const ETC_UNIT = '/etc/systemd/system/devlic-agent.service';

function systemd(o: ManagerOptions): ServiceManager {
  const name = o.layout.serviceName;
  return {
    files() {
      const opts = { layout: o.layout, readWritePaths: o.readWritePaths, server: o.server };
      if (!o.packaged) return [{ path: o.layout.serviceFile, content: agentUnit(opts), mode: 0o644 }];
      // Same lines as a full unit would carry, so the drop-in cannot disagree with it.
      // Written also when empty: it replaces a previous install's (an old server address).
      const lines = agentInstallLines(opts);
      return [{ path: SYSTEMD_DROPIN, content: `# Written by devlic-agent install: folders the enabled apps write, the server's address.\n[Service]\n${lines.join('\n')}\n`, mode: 0o644 }];
    },
    allFiles: () => [ETC_UNIT, SYSTEMD_DROPIN],
    extraProgramFiles: [],
    async beforeProgramFiles() { /* Linux replaces a running program's files by rename */ },
    stoppedBefore: () => false,
    async secureDataDir() { /* 0700 root, set when created */ },
    register: (run) => runAll(run, systemdRegister(name)),
    unregister: (run) => runAll(run, systemdStop(name)),
    forget: (run) => runAll(run, systemdForget(name)),
  };
}

function launchd(o: ManagerOptions): ServiceManager {
  return {
    files: () => [
      // launchd ignores a daemon plist that is not root-owned or is group/world-writable.
      { path: o.layout.serviceFile, content: agentPlist(o.layout), mode: 0o644 },
      { path: NEWSYSLOG_FILE, content: newsyslogConf(o.layout), mode: 0o644 },
    ],
    allFiles: () => [o.layout.serviceFile, NEWSYSLOG_FILE],
    extraProgramFiles: [],
    async beforeProgramFiles() { /* a running executable can be replaced by rename */ },
    stoppedBefore: () => false,
    async secureDataDir() { /* 0700 root */ },
    register: (run) => runAll(run, launchdRegister(o.layout)),
    unregister: (run) => runAll(run, launchdStop(o.layout)),
    async forget() { /* bootout already forgot it */ },
  };
}

/** Waits (up to ~30 s) for `sc.exe query` to say STOPPED, so the program files are no longer locked. */
async function waitStopped(run: Runner, name: string, sleep: (ms: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const r = await run.run(scQuery(name));
    if (parseScQuery(r.code, r.stdout).stopped) return;
    await sleep(500);
  }
  throw new Error(`the ${name} service did not stop within 30 s; stop it (sc.exe stop ${name}) and run the command again`);
}

function windows(o: ManagerOptions, sleep: (ms: number) => Promise<void>): ServiceManager {
  const name = o.layout.serviceName;
  let existed = false;
  return {
    files: () => [{ path: o.layout.serviceFile, content: winswXml(o.layout), mode: 0o644 }],
    allFiles: () => [o.layout.serviceFile],
    extraProgramFiles: [WINSW_EXE],
    async beforeProgramFiles(run) {
      const q = await run.run(scQuery(name));
      existed = parseScQuery(q.code, q.stdout).exists;
      if (existed) {
        await run.run(scStop(name));
        await waitStopped(run, name, sleep);
      }
    },
    stoppedBefore: () => existed,
    secureDataDir: (run) => runAll(run, [restrictDataDir(o.layout.dataDir)]).then(() => undefined),
    register: (run) => runAll(run, [scDefine(o.layout, existed), ...scConfigure(o.layout), scStart(name)]),
    async unregister(run) {
      const q = await run.run(scQuery(name));
      if (!parseScQuery(q.code, q.stdout).exists) return;
      await run.run(scStop(name));
      await waitStopped(run, name, sleep);
      await run.run(scDelete(name));
    },
    async forget() { /* sc.exe delete is the whole of it */ },
  };
}

export function serviceManager(o: ManagerOptions, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): ServiceManager {
  if (o.layout.platform === 'darwin') return launchd(o);
  if (o.layout.platform === 'win32') return windows(o, sleep);
  return systemd(o);
}
