// `devlic-agent install ...` and `devlic-agent uninstall ...`: argument
// parsing, checks that need the real machine (root, systemd running), and the
// choice of layout, apps and sandbox paths; the work is in install.ts.
//
// Entry: runInstallCommand(argv) with argv = ['install', ...] or
// ['uninstall', ...]. It returns the exit code (0, 1, or 3: installed, but an
// app given with --app cannot be switched on this machine) and throws UsageError
// for wrong usage (exit 2 through shared/cli.ts runCli), like every agent
// command. installer/agent-entry.ts routes the two commands here.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isSea } from 'node:sea';
import { parse, UsageError } from '../shared/cli.ts';
import { APP_NAMES, createEnforcers, descriptorFor, ENFORCERS, writablePaths } from '../agent/enforce/registry.ts';
import { isValid } from '../shared/validate.ts';
import { agentLayout, packagedProgram, type AgentLayout, type Platform } from './layout.ts';
import { install, isPackaged, uninstall } from './install.ts';
import { processRunner, redact, type Runner } from '../shared/run.ts';
import { enrollTokenHelp, ENROLL_TOKEN_OPTIONS, enrollTokenFrom } from '../agent/cli/enroll-token.ts';

export const INSTALL_USAGE = `Usage: devlic-agent install --server URL (--token T | --token-file F) [--app NAME]... [options]
       devlic-agent uninstall [--purge] [options]

install    Run as root (Administrator on Windows) from the unpacked release
           archive. Copies devlic-agent and better_sqlite3.node to the program
           folder (Linux /opt/devlic, or the .deb's /usr/lib/devlic when the
           package is installed; macOS /usr/local/devlic; Windows
           %ProgramFiles%\\devlic), writes the config (Linux /etc/devlic/agent.json),
           creates the data folder (0700), enrolls this device and registers and
           starts the devlic-agent service. Safe to re-run: upgrades the program,
           keeps an existing enrollment with the same server. A failed install is
           rolled back.
uninstall  Stops and removes the service and the program files. Config and data
           (this device's keys) stay unless --purge. Safe to re-run.

  --server URL          the licensing service
${enrollTokenHelp(24)}
  --app NAME            an app to switch, repeatable: ${byName().join(', ')}
                        (default: the config's apps, else "file"; apps that need settings,
                        such as hooks, go in the config file). Each is checked on this
                        machine (not with --root); one that cannot be switched here (e.g.
                        LibreOffice older than 26.8) is a loud warning and exit status 3
  --ca-file F           trust only this CA for the service's certificate
  --allow-insecure-http allow plain http:// to a non-loopback server
  --purge               uninstall: also remove config, data and logs
  --data-dir DIR        data folder instead of the platform's
  --config FILE         config file instead of the platform's
  --from DIR            folder with the built devlic-agent (default: this executable's)
  --root DIR            install into a staging root (packaging, images, tests): files and config
                        only; no service manager calls, and no enrollment unless --enroll
  --enroll              with --root: enroll the staged agent now (with --server and the token);
                        without it --server alone is enough (written to the config)
  -h, --help            this help
`;

const OPTIONS = {
  server: { type: 'string' }, ...ENROLL_TOKEN_OPTIONS, app: { type: 'string', multiple: true },
  'ca-file': { type: 'string' }, 'allow-insecure-http': { type: 'boolean' }, purge: { type: 'boolean' },
  'data-dir': { type: 'string' }, config: { type: 'string' }, from: { type: 'string' }, root: { type: 'string' },
  enroll: { type: 'boolean' },
} as const;

export interface InstallDeps {
  platform?: Platform;
  runner?: Runner;
  /** Default for --from when running as the single executable. */
  execPath?: string;
  isSea?: boolean;
  uid?: number;
  log?: (line: string) => void;
  env?: Record<string, string | undefined>;
  /** Tests: run service-manager commands through the (recording) runner even with --root. */
  serviceCommands?: 'run' | 'skip';
  /** Tests: check the --app apps on this machine even with --root (a staged image is for another machine). */
  appChecks?: 'run' | 'skip';
}

/** `install` worked, but an app given with --app cannot be switched on this machine (documented in agent/README.md). */
export const EXIT_APP_UNSUPPORTED = 3;

/**
 * Each --app app's own check (the one `doctor` runs): what cannot be switched
 * on this machine, e.g. a LibreOffice without ViewerAppMode. Nothing is changed.
 */
export async function appProblems(apps: Array<Record<string, unknown>>, dataDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of createEnforcers(apps, { dataDir })) {
    const r = await e.check().catch((err: Error) => ({ ok: false, message: err.message }));
    if (!r.ok) out.push(`${e.name}: ${r.message}`);
  }
  return out;
}

/** Folders the systemd sandbox must leave writable for the chosen apps (each enforcer's writablePaths). */
export async function sandboxWritePaths(apps: Array<Record<string, unknown>>, platform: Platform): Promise<string[]> {
  return writablePaths(apps, platform);
}

/** Apps that --app can turn on: their config entry needs nothing but the name. */
function byName(): string[] {
  return ENFORCERS.filter((d) => isValid(d.schema, { name: d.name })).map((d) => d.name);
}

function appsFrom(names: string[] | undefined): Array<Record<string, unknown>> | undefined {
  if (!names?.length) return undefined;
  return names.map((name) => {
    const d = descriptorFor(name);
    if (!d) throw new UsageError(`unknown app '${name}' (apps: ${APP_NAMES.join(', ')})`);
    if (!isValid(d.schema, { name })) {
      const schema = d.schema as { required?: string[]; properties?: Record<string, { description?: string }> };
      const needs = (schema.required ?? []).filter((k) => k !== 'name');
      const what = needs.map((k) => schema.properties?.[k]?.description ?? k).join(', ') || 'settings';
      const fields = needs.map((k) => `,"${k}":...`).join('');
      throw new UsageError(`the ${name} app needs ${what}: add {"name":"${name}"${fields}} to the config file's apps`);
    }
    return { name };
  });
}

export async function runInstallCommand(argv: string[], deps: InstallDeps = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'install' && command !== 'uninstall') throw new UsageError(`expected install or uninstall, not '${command ?? ''}'`);
  const { values, positionals } = parse(rest, OPTIONS);
  if (values.help) {
    process.stdout.write(INSTALL_USAGE);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const platform = deps.platform ?? (process.platform as Platform);
  const log = deps.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const root = values.root ? resolve(values.root) : null;
  const uid = deps.uid ?? process.getuid?.();
  const runner = deps.runner ?? processRunner();
  const unpackaged: AgentLayout = agentLayout(platform, {
    env: deps.env ?? process.env, dataDir: values['data-dir'], configFile: values.config,
  });
  const layout = isPackaged(unpackaged, root) ? packagedProgram(unpackaged) : unpackaged;

  const token = command === 'install' ? enrollTokenFrom(values, deps.env ?? process.env) : undefined;
  if (command === 'install') {
    if (!values.server || !token) {
      if (!root) throw new UsageError('--server URL and an enroll token (--token T or --token-file F) are required');
      // Staging may set the server alone (enroll later on the target); a token needs a server.
      if (token) throw new UsageError('an enroll token needs --server');
    }
    if (values.enroll && !root) throw new UsageError('--enroll goes with --root (a real install always enrolls)');
    if (values.enroll && (!values.server || !token)) throw new UsageError('--enroll needs --server and an enroll token');
  } else if (values.server || values.token || values['token-file'] || values.app || values.enroll) {
    throw new UsageError('uninstall takes no --server, --token, --token-file, --app or --enroll');
  }

  // Checks on the real machine, before anything changes.
  if (!root && platform !== 'win32' && uid !== 0) {
    process.stderr.write(`devlic-agent: ${command} must run as root (sudo devlic-agent ${command} ...)\n`);
    return 1;
  }
  if (!root && platform === 'linux' && !existsSync('/run/systemd/system')) {
    process.stderr.write(`devlic-agent: systemd is not running on this machine, so there is no service to register.\n`
      + `  Start 'devlic-agent run --config ${layout.configFile}' with your service manager, or use --root DIR to stage the files.\n`);
    return 1;
  }
  const execPath = deps.execPath ?? process.execPath;
  const sea = deps.isSea ?? isSea();
  if (command === 'uninstall' && platform === 'win32' && !root && sea && dirname(execPath).toLowerCase() === layout.programDir.toLowerCase()) {
    process.stderr.write(`devlic-agent: Windows cannot delete a running program: run uninstall from the release archive's devlic-agent.exe, not from ${layout.programDir}\n`);
    return 1;
  }

  try {
    if (command === 'uninstall') {
      await uninstall({ layout, root, purge: !!values.purge, runner, log, serviceCommands: deps.serviceCommands });
      log('devlic-agent is uninstalled.');
      return 0;
    }
    const from = values.from ? resolve(values.from) : sea ? dirname(execPath) : null;
    if (!from && !isPackaged(layout, root)) {
      throw new UsageError('--from DIR is required when not running the built executable (npm run build writes dist/)');
    }
    const apps = appsFrom(values.app);
    // Checked before anything changes, said after the install (the device is
    // still licensed and the other apps switched), loudly, with its own exit code.
    const checkHere = (deps.appChecks ?? (root ? 'skip' : 'run')) === 'run' && platform === process.platform;
    const problems = apps && checkHere ? await appProblems(apps, layout.dataDir) : [];
    await install({
      layout, from: from ?? dirname(execPath), root, runner, log, serviceCommands: deps.serviceCommands,
      server: values.server, token, enroll: !root || !!values.enroll, caFile: values['ca-file'], allowInsecureHttp: values['allow-insecure-http'],
      apps, writePathsFor: platform === 'linux' ? (a) => sandboxWritePaths(a, platform) : undefined,
      asRoot: uid === 0 && !root,
    });
    log(root ? `devlic-agent is staged under ${root}${values.enroll ? ' and enrolled' : ''}; no service was registered or started.`
      : `devlic-agent is installed and running. Check it with: devlic-agent status`);
    if (problems.length) {
      process.stderr.write(`\n${'!'.repeat(72)}\nWARNING: installed, but ${problems.length === 1 ? 'an app' : 'apps'} given with --app cannot be switched on this device:\n`
        + problems.map((p) => `  - ${p}\n`).join('')
        + `The device reports this to the service (devices list: ENFORCED NO). Fix it, then check with: devlic-agent doctor\n${'!'.repeat(72)}\n`);
      return EXIT_APP_UNSUPPORTED;
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    process.stderr.write(`devlic-agent: ${command} failed: ${redact((e as Error).message, token)}\n`);
    return 1;
  }
}
