// `devlic-agent install` and `uninstall`: the sequence, written once for
// Linux, macOS and Windows (the differences live in platforms/manager.ts).
//
// install: program files -> PATH link -> data folder -> config -> service
// definition -> enroll (the installed executable, so the installed addon is
// what gets tested) -> register and start. Every file step records its undo;
// if any step fails, the service is unregistered and everything is put back
// as it was, so a failed install never leaves a half-installed service.
// Re-running is safe: files are replaced atomically, an enrolled device with
// the same server is not enrolled again, the service is restarted.
//
// uninstall: stop and unregister, remove service files, program files and
// link; --purge also removes config, data (keys, cache) and logs. Missing
// pieces are fine, so it can be re-run after a partial removal.
//
// When the .deb is installed (dpkg owns /usr/lib/devlic and the unit), install
// and uninstall leave the package's files to dpkg and only configure, enroll
// and (un)register.
import { existsSync, lstatSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ADDON, pathFor, type AgentLayout } from './layout.ts';
import { hostPath, readIfExists, removeDirIfEmpty, removeFile, Transaction } from './fsops.ts';
import { serviceManager, SYSTEMD_DROPIN_DIR, type ServiceManager } from './platforms/manager.ts';
import { serverAddressLines } from './platforms/systemd.ts';
import { redact, type Command, type CommandResult, type Runner } from '../shared/run.ts';
import { ENROLL_TOKEN_ENV } from '../agent/cli/enroll-token.ts';

export interface InstallOptions {
  layout: AgentLayout;
  /** Folder holding the built devlic-agent executable and better_sqlite3.node (the release archive). */
  from: string;
  /** Staging root: every path goes under it; null = the real system. */
  root: string | null;
  server?: string;
  token?: string;
  /** Enroll with server and token (default true; install-cli asks for --enroll with a staging root). */
  enroll?: boolean;
  caFile?: string;
  allowInsecureHttp?: boolean;
  /** Agent config `apps` entries; undefined keeps the existing config's (or the agent's default). */
  apps?: Array<Record<string, unknown>>;
  /** Folders the service sandbox must leave writable for these apps (Linux; see install-cli.ts). */
  writePathsFor?: (apps: Array<Record<string, unknown>>) => Promise<string[]>;
  runner: Runner;
  /** 'skip' with a staging root by default: no systemctl/launchctl/sc.exe on the build machine. */
  serviceCommands?: 'run' | 'skip';
  log: (line: string) => void;
  /** chown 0:0 what is created (true when running as root). */
  asRoot: boolean;
  sleep?: (ms: number) => Promise<void>;
}

export interface UninstallOptions {
  layout: AgentLayout;
  root: string | null;
  purge: boolean;
  runner: Runner;
  serviceCommands?: 'run' | 'skip';
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** dpkg's record of the package: when present, /usr/lib/devlic and the unit belong to dpkg. */
export const DPKG_LIST = '/var/lib/dpkg/info/devlic-agent.list';

export function isPackaged(layout: AgentLayout, root: string | null): boolean {
  return layout.platform === 'linux' && existsSync(hostPath(root, 'linux', DPKG_LIST));
}

function gatedRunner(runner: Runner, mode: 'run' | 'skip', log: (l: string) => void): Runner {
  if (mode === 'run') return runner;
  return {
    async run(cmd: Command): Promise<CommandResult> {
      if (!cmd.serviceManager) return runner.run(cmd);
      log(`  (staging root: not run) ${[cmd.file, ...cmd.args].join(' ')}`);
      // "No such service" for queries, success for the rest.
      return { code: cmd.args[0] === 'query' ? 1060 : 0, stdout: '', stderr: '' };
    },
  };
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** The agent config after install: the existing file's settings, with what this install was told. */
export function mergedConfig(existing: Buffer | null, o: Pick<InstallOptions, 'server' | 'apps' | 'caFile' | 'allowInsecureHttp' | 'layout'>): Record<string, unknown> {
  let cfg: Record<string, unknown> = {};
  if (existing) {
    try {
      const parsed = JSON.parse(existing.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) cfg = parsed;
    } catch {
      throw new Error(`the existing config ${o.layout.configFile} is not valid JSON; fix or remove it and run install again`);
    }
  }
  cfg.dataDir = o.layout.dataDir;
  if (o.server) cfg.server = o.server;
  if (o.apps) cfg.apps = o.apps;
  if (o.caFile) cfg.caFile = o.caFile;
  if (o.allowInsecureHttp) cfg.allowInsecureHttp = true;
  return cfg;
}

export async function install(o: InstallOptions): Promise<void> {
  const L = o.layout;
  const p = (path: string) => hostPath(o.root, L.platform, path);
  const packaged = isPackaged(L, o.root);
  const cfg = mergedConfig(readIfExists(p(L.configFile)), o);
  const apps = Array.isArray(cfg.apps) ? (cfg.apps as Array<Record<string, unknown>>) : [{ name: 'file' }];
  const readWritePaths = o.writePathsFor ? await o.writePathsFor(apps) : [];
  const server = typeof cfg.server === 'string' ? cfg.server : undefined;
  const mgr = serviceManager({ layout: L, packaged, readWritePaths, server }, o.sleep);
  const serviceMode = o.serviceCommands ?? (o.root ? 'skip' : 'run');
  const run = gatedRunner(o.runner, serviceMode, o.log);
  const lp = pathFor(L.platform);
  const exeName = lp.basename(L.exe);
  const sources = [exeName, ADDON, ...mgr.extraProgramFiles].map((f) => ({ f, src: join(o.from, f) }));
  const installedExe = p(L.exe);
  const selfInstall = packaged || sameFile(join(o.from, exeName), installedExe);
  if (!selfInstall) {
    const missing = sources.filter((s) => !existsSync(s.src)).map((s) => s.src);
    if (missing.length) throw new Error(`missing ${missing.join(', ')}: run install from the unpacked release archive (or pass --from DIR)`);
  }
  if (o.token !== undefined && o.server === undefined) throw new Error('an enroll token needs --server');
  if (o.server !== undefined && o.token === undefined && o.enroll !== false) throw new Error('--server and --token go together');

  // An upgrade that fails must leave the previous agent running, a first install nothing at all.
  const previouslyInstalled = existsSync(p(L.serviceFile)) || (packaged && existsSync(p(L.configFile)));
  const tx = new Transaction(o.log, o.asRoot);
  let registered = false;
  try {
    await mgr.beforeProgramFiles(run);
    if (selfInstall) {
      o.log(packaged ? `program files: managed by the devlic-agent package (${L.programDir})` : `program files: already in ${L.programDir}`);
    } else {
      tx.mkdirs(p(L.programDir), 0o755);
      for (const s of sources) tx.copyFile(s.src, p(lp.join(L.programDir, s.f)), s.f === ADDON ? 0o644 : 0o755);
      o.log(`program files: ${L.programDir}`);
      if (L.binLink) {
        tx.mkdirs(p(lp.dirname(L.binLink)), 0o755);
        tx.symlink(L.exe, p(L.binLink));
        o.log(`command: ${L.binLink} -> ${L.exe}`);
      }
    }

    // Data first: on macOS and Windows the config lives inside it. A data folder this
    // install creates is removed whole on rollback (with a half-done enrollment in it).
    tx.mkdirs(p(L.dataDir), 0o700, { removeOnUndo: 'tree', tighten: true });
    await mgr.secureDataDir(run);
    if (L.logDir) tx.mkdirs(p(L.logDir), 0o750);
    o.log(`data: ${L.dataDir} (0700)`);

    tx.mkdirs(p(L.configDir), 0o755);
    // 0600: not secret today, but it decides which hooks the root agent runs.
    tx.writeFile(p(L.configFile), JSON.stringify(cfg, null, 2) + '\n', 0o600);
    o.log(`config: ${L.configFile}`);

    for (const f of mgr.files()) {
      tx.mkdirs(p(pathFor(L.platform).dirname(f.path)), 0o755);
      tx.writeFile(p(f.path), f.content, f.mode);
      o.log(`service definition: ${f.path}`);
    }
    if (L.platform === 'linux') {
      const allow = serverAddressLines(server).find((l) => l.startsWith('IPAddressAllow='));
      o.log(allow ? `network: the service may reach only ${allow.slice('IPAddressAllow='.length)}`
        : 'network: not narrowed to the server (its URL names a host, not an address; see INSTALL.md to pin addresses)');
    }

    if (o.server && o.token && o.enroll !== false) await enroll(o, run, p);
    else if (o.server) o.log(`enroll: not done (staging root; the server is in the config): run 'devlic-agent enroll' on the target machine, or pass --enroll to enroll the staged agent now`);

    registered = true;
    await mgr.register(run);
    // Only said when it happened: with a staging root the service manager is not called.
    o.log(serviceMode === 'run' ? `service: ${L.serviceName} registered and started` : `service: ${L.serviceName} defined, not registered or started (staging root)`);
    tx.commit();
  } catch (e) {
    o.log(`install failed: ${redact((e as Error).message, o.token)}`);
    o.log('rolling back');
    const say = (what: string) => (u: unknown) => o.log(`  could not ${what}: ${redact((u as Error).message, o.token)}`);
    if (registered && !previouslyInstalled) await mgr.unregister(run).catch(say('unregister the service'));
    for (const problem of tx.rollback()) o.log(`  ${problem}`);
    if (previouslyInstalled && (registered || mgr.stoppedBefore())) {
      // The previous files are back: run the previous agent again.
      await mgr.register(run).catch(say('restart the previous service'));
    } else if (registered) {
      await mgr.forget(run).catch(() => undefined);
    }
    throw e;
  }
}

async function enroll(o: InstallOptions, run: Runner, p: (path: string) => string): Promise<void> {
  const L = o.layout;
  const exe = p(L.exe);
  const common = ['--config', p(L.configFile), '--data-dir', p(L.dataDir)];
  // Re-running install on an enrolled device must not spend another enroll token.
  const status = await run.run({ file: exe, args: ['status', '--json', ...common], allowFail: true });
  if (status.code === 0) {
    try {
      const s = JSON.parse(status.stdout) as { enrolled?: boolean; server?: string };
      if (s.enrolled && s.server && normalize(s.server) === normalize(o.server!)) {
        o.log(`enroll: already enrolled with ${s.server}; not enrolling again`);
        return;
      }
    } catch { /* not JSON: enroll */ }
  }
  const args = ['enroll', '--server', o.server!, ...common];
  if (o.caFile) args.push('--ca-file', o.caFile);
  if (o.allowInsecureHttp) args.push('--allow-insecure-http');
  // The token goes through the environment, not the command line that any user can list.
  const r = await run.run({ file: exe, args, env: { [ENROLL_TOKEN_ENV]: o.token! } });
  for (const line of r.stdout.trim().split('\n').filter(Boolean)) o.log(`enroll: ${line}`);
}

function normalize(url: string): string {
  return url.trim().replace(/\/+$/, '').toLowerCase();
}

export async function uninstall(o: UninstallOptions): Promise<void> {
  const L = o.layout;
  const p = (path: string) => hostPath(o.root, L.platform, path);
  const packaged = isPackaged(L, o.root);
  const mgr: ServiceManager = serviceManager({ layout: L, packaged, readWritePaths: [] }, o.sleep);
  const serviceMode = o.serviceCommands ?? (o.root ? 'skip' : 'run');
  const run = gatedRunner(o.runner, serviceMode, o.log);

  await mgr.unregister(run);
  o.log(`service: ${L.serviceName} stopped and unregistered`);
  for (const f of mgr.allFiles()) if (removeFile(p(f))) o.log(`removed ${f}`);
  if (L.platform === 'linux') removeDirIfEmpty(p(SYSTEMD_DROPIN_DIR));
  await mgr.forget(run);

  if (packaged) {
    o.log(`program files belong to the devlic-agent package: remove them with 'apt remove devlic-agent'`);
  } else {
    if (L.binLink && linksTo(p(L.binLink), L.exe) && removeFile(p(L.binLink))) o.log(`removed ${L.binLink}`);
    const lp = pathFor(L.platform);
    for (const f of [lp.basename(L.exe), ADDON, ...mgr.extraProgramFiles]) removeFile(p(lp.join(L.programDir, f)));
    if (removeDirIfEmpty(p(L.programDir))) o.log(`removed ${L.programDir}`);
    else if (existsSync(p(L.programDir))) o.log(`kept ${L.programDir}: it holds files devlic did not install`);
  }

  if (o.purge) {
    removeFile(p(L.configFile));
    if (L.configDir !== L.dataDir) removeDirIfEmpty(p(L.configDir));
    rmSync(p(L.dataDir), { recursive: true, force: true });
    if (L.logDir) rmSync(p(L.logDir), { recursive: true, force: true });
    o.log(`purged ${L.configFile}, ${L.dataDir} (device keys, cached entitlement)${L.logDir ? ` and ${L.logDir}` : ''}`);
  } else {
    o.log(`kept ${L.configFile} and ${L.dataDir}: 'uninstall --purge' removes them (and this device's keys)`);
  }
}

/** True when `link` is a symlink to `target` (dangling is fine: the program may be gone already). */
function linksTo(link: string, target: string): boolean {
  try {
    return lstatSync(link).isSymbolicLink() && readlinkSync(link) === target;
  } catch {
    return false;
  }
}
