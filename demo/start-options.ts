// `npm start` options and texts, apart from the processes so they can be
// tested without starting anything: the flags (each with the environment
// variable it overrides), the help, and the "try next" hints, which carry the
// service's actual URL and paths so they stay right on another port or folder.
import { resolve } from 'node:path';
import { parse, UsageError } from '../shared/cli.ts';

export const PROGRAM = 'npm start';
export const DEFAULT_LISTEN = '127.0.0.1:8470';
/** The group the local agent enrolls into: the one README's walk-through licenses. */
export const GROUP = 'Shared laptops';
/** Apps `npm start` can switch besides the always-on file enforcer. */
export const OPTIONAL_APPS = ['libreoffice'] as const;

export interface StartOptions {
  listen: string;
  url: string;
  dataDir: string;
  /** 'file' always; 'libreoffice' only when asked for. */
  apps: string[];
  libreofficeRoot?: string;
}

export const HELP = `Usage: npm start [-- OPTIONS]

Starts the licensing service on an SQLite file and one local agent enrolled
into the group "${GROUP}", then prints what to try next. Ctrl-C stops both.

Options (each overrides its environment variable):
  --listen HOST:PORT       where the service listens ($DEVLIC_LISTEN, default ${DEFAULT_LISTEN})
  --data-dir DIR           service, agent, logs ($DEVLIC_DATA, default ./devlic-data)
  --app libreoffice        also switch the system LibreOffice (root only); the
                           layer it writes is removed again when npm start stops
  --libreoffice-root DIR   with --app libreoffice: that install instead of the usual places
  -h, --help               print this and exit

Without --app the local agent only writes <data-dir>/agent/app-mode.json.
`;

export type Parsed = { kind: 'help' } | { kind: 'start'; options: StartOptions };

/** Host and port of --listen, refusing what the service would refuse later. */
function checkListen(listen: string, from: string): string {
  const m = listen.trim().match(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`${from} '${listen}' is not HOST:PORT (e.g. ${DEFAULT_LISTEN}; port 1-65535)`);
  return listen.trim();
}

export function parseStart(argv: string[], env: NodeJS.ProcessEnv, defaultDataDir: string): Parsed {
  const { values, positionals } = parse(argv, {
    listen: { type: 'string' }, 'data-dir': { type: 'string' },
    app: { type: 'string', multiple: true }, 'libreoffice-root': { type: 'string' },
  });
  if (values.help) return { kind: 'help' };
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const listen = values.listen !== undefined ? checkListen(values.listen, '--listen')
    : env.DEVLIC_LISTEN ? checkListen(env.DEVLIC_LISTEN, 'DEVLIC_LISTEN') : DEFAULT_LISTEN;
  const dir = values['data-dir'] ?? (env.DEVLIC_DATA || undefined);
  if (dir !== undefined && !dir.trim()) throw new UsageError('--data-dir needs a folder');
  const apps = ['file'];
  for (const a of values.app ?? []) {
    if (a === 'file') continue;
    if (!(OPTIONAL_APPS as readonly string[]).includes(a)) throw new UsageError(`unknown app '${a}' (npm start can add: ${OPTIONAL_APPS.join(', ')})`);
    if (!apps.includes(a)) apps.push(a);
  }
  const lo = values['libreoffice-root'];
  if (lo !== undefined && !apps.includes('libreoffice')) throw new UsageError('--libreoffice-root needs --app libreoffice');
  return {
    kind: 'start',
    options: {
      listen, url: `http://${listen}`, dataDir: resolve(dir ?? defaultDataDir), apps,
      ...(lo !== undefined ? { libreofficeRoot: resolve(lo) } : {}),
    },
  };
}

/** Quotes a path for a POSIX shell when it needs it. */
function sh(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The banner printed once both processes run. */
export function startBanner(o: { url: string; dataDir: string; adminToken: string; agentDir: string; enforcers: string[]; note?: string }): string {
  return `
devlic is running: licensing service ${o.url} (console: open it in a browser), one local agent in "${GROUP}".
Data and logs: ${o.dataDir}   Admin token: ${o.adminToken}
Enforcers: ${o.enforcers.join(', ')}${o.note ? ` (${o.note})` : ''}

Try, in another terminal:
  export DEVLIC_SERVER=${o.url}
  export DEVLIC_ADMIN_TOKEN=$(cat ${sh(o.adminToken)})
  npx devlic-admin subscriptions add --product M365_APPS_ENTERPRISE_DEVICE --seats 20 --name "EA 2026"
  npx devlic-admin licenses assign --subscription "EA 2026" --group "${GROUP}"
  npx devlic-agent status --data-dir ${sh(o.agentDir)}          # mode full within a second
  npx devlic-admin licenses unassign --subscription "EA 2026" --group "${GROUP}" --yes
  npx devlic-agent logs --data-dir ${sh(o.agentDir)}
  npx devlic-admin devices list

Ctrl-C stops both.
`;
}
