// Help text of devlic-admin: the overview, one noun's sub-commands, and one
// command's options. Generated from the command table so it cannot drift.
import type { CommandSpec } from './command-spec.ts';
import { COMMANDS, commandsOf, NOUNS } from './commands.ts';

export const PROGRAM = 'devlic-admin';

/** Where the first admin token is, for `npm start` (demo/start.ts) and the installed service (installer/layout.ts). */
export const TOKEN_PLACES = [
  '  export DEVLIC_ADMIN_TOKEN="$(cat ./devlic-data/server/admin-token)"            # npm start',
  '  export DEVLIC_ADMIN_TOKEN="$(sudo cat /var/lib/devlic-server/admin-token)"    # installed service',
];
export const DEFAULT_SERVER = 'http://127.0.0.1:8470';

const GLOBAL_HELP: Array<[string, string]> = [
  ['--server URL', `licensing service (default: $DEVLIC_SERVER, else ${DEFAULT_SERVER})`],
  ['--token T', 'admin token (default: $DEVLIC_ADMIN_TOKEN)'],
  ['--json', "print the API's own objects as JSON"],
  ['-h, --help', 'show help; works after any command too'],
  ['--version', 'print the version'],
];

/** Two columns; a first column wider than `max` puts its text on the next line. */
function columns(rows: Array<[string, string, ...unknown[]]>, indent = '  ', max = 40): string {
  const width = Math.min(max, Math.max(0, ...rows.map(([a]) => a.length)));
  return rows
    .map(([a, b]) => (a.length > width ? `${indent}${a}\n${indent}${' '.repeat(width)}  ${b}` : `${indent}${a.padEnd(width)}  ${b}`))
    .map((line) => line.trimEnd())
    .join('\n');
}

/** "groups create NAME [--parent GROUP]": required options without brackets. */
export function synopsis(c: CommandSpec): string {
  const opts = c.optionHelp.map(([flag, , required]) => (required ? flag : `[${flag}]`)).join(' ');
  return [c.name, c.args, opts].filter(Boolean).join(' ');
}

export function mainUsage(): string {
  return [
    `Usage: ${PROGRAM} [--server URL] [--token T] <command> [--json]`,
    '',
    'Administer devlic device licensing: subscriptions are assigned to groups of',
    'devices, and every device in a licensed group runs the office apps in full mode.',
    '',
    'Commands:',
    columns(COMMANDS.map((c) => [synopsis(c), c.summary]), '  ', 44),
    '',
    'Global options (before or after the command):',
    columns(GLOBAL_HELP),
    '',
    'GROUP, SUBSCRIPTION and DEVICE take an id or a unique name.',
    'The server writes a global-admin token to <data-dir>/admin-token at its first start:',
    ...TOKEN_PLACES,
    `Run '${PROGRAM} <command> --help' for a command's options.`,
    '',
  ].join('\n');
}

export function nounUsage(noun: string): string {
  const cmds = commandsOf(noun);
  return [
    `Usage: ${PROGRAM} ${noun} <${cmds.map((c) => c.name.split(' ')[1]).join('|')}> [options] [--json]`,
    '',
    columns(cmds.map((c) => [synopsis(c), c.summary])),
    '',
    `Run '${PROGRAM} ${noun} <sub-command> --help' for details.`,
    '',
  ].join('\n');
}

export function commandUsage(c: CommandSpec): string {
  return [
    `Usage: ${PROGRAM} [--server URL] [--token T] ${synopsis(c)} [--json]`,
    '',
    c.summary + '.',
    ...(c.details ?? []),
    ...(c.optionHelp.length ? ['', 'Options:', columns(c.optionHelp)] : []),
    '',
    'Global options:',
    columns(GLOBAL_HELP),
    '',
  ].join('\n');
}

export function isNoun(word: string): boolean {
  return NOUNS.includes(word);
}
