// Turns devlic-admin's argv (and environment) into either help text or one
// admin API request plus the global options. Pure: no I/O, so every mapping
// and every usage error (exit 2) is unit-tested without a server.
import { parseArgs } from 'node:util';
import { parse, UsageError, type Options } from '../../shared/cli.ts';
import type { ApiRequest, CommandSpec } from './command-spec.ts';
import { COMMANDS, commandsOf, findCommand, NOUNS } from './commands.ts';
import { commandUsage, DEFAULT_SERVER, isNoun, mainUsage, nounUsage, PROGRAM } from './usage.ts';
import pkg from '../../package.json' with { type: 'json' };

export const ADMIN_VERSION: string = pkg.version;

export interface GlobalOptions {
  /** Service base URL without a trailing slash. */
  server: string;
  /** Admin token, or undefined when none was given (a failure, not a usage error). */
  token: string | undefined;
  json: boolean;
}

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'call'; global: GlobalOptions; command: CommandSpec; request: ApiRequest };

export type Env = Record<string, string | undefined>;

const GLOBAL_OPTIONS: Options = {
  server: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

/** Every option of every command, so a first pass can find the command words wherever flags are. */
const ALL_OPTIONS: Options = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options));

/** Checks and normalises the service URL. */
export function parseServer(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`invalid ${source} '${value}' (use e.g. ${DEFAULT_SERVER})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid ${source} '${value}': use an http:// or https:// URL`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new UsageError(`invalid ${source} '${value}': give only scheme, host, port and an optional path`);
  }
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

function helpFor(words: string[]): string {
  const [noun, verb] = words;
  if (noun === undefined) return mainUsage();
  if (!isNoun(noun)) throw new UsageError(`unknown command '${noun}'`);
  const single = findCommand(noun, undefined);
  if (single) return commandUsage(single);
  const c = verb === undefined ? undefined : findCommand(noun, verb);
  return c ? commandUsage(c) : nounUsage(noun);
}

/** Maps argv (without node and script) to help text or one API request. Throws UsageError. */
export function parseInvocation(argv: string[], env: Env): Invocation {
  // First pass: know every option's type so values are not taken for command words.
  const first = parseArgs({ args: argv, options: ALL_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const t of first.tokens ?? []) {
    if (t.kind === 'option' && !(t.name in ALL_OPTIONS)) throw new UsageError(`unknown option '${t.rawName}'`);
  }
  const words = first.positionals;
  if (words[0] === 'help') return { kind: 'help', text: helpFor(words.slice(1)) };
  if (first.values.help) return { kind: 'help', text: helpFor(words) };
  if (first.values.version) return { kind: 'help', text: `${PROGRAM} ${ADMIN_VERSION}\n` };

  const [noun, verb] = words;
  if (noun === undefined) throw new UsageError(`missing command (one of: ${NOUNS.join(', ')})`);
  if (!isNoun(noun)) throw new UsageError(`unknown command '${noun}' (one of: ${NOUNS.join(', ')})`);
  let command = findCommand(noun, undefined);
  if (!command) {
    const verbs = commandsOf(noun).map((c) => c.name.split(' ')[1]).join(', ');
    if (verb === undefined) throw new UsageError(`missing sub-command after '${noun}' (one of: ${verbs})`);
    command = findCommand(noun, verb);
    if (!command) throw new UsageError(`unknown sub-command '${noun} ${verb}' (one of: ${verbs})`);
  }

  // Second pass, strict, with only this command's options.
  for (const t of first.tokens ?? []) {
    if (t.kind === 'option' && !(t.name in GLOBAL_OPTIONS) && !(t.name in command.options)) {
      throw new UsageError(`unknown option '${t.rawName}' for '${command.name}'`);
    }
  }
  const { values, positionals } = parse(argv, { ...GLOBAL_OPTIONS, ...command.options });
  const { server, token, json, help: _help, version: _version, ...rest } = values;
  const commandWords = command.name.split(' ').length;
  const request = command.build({ positionals: positionals.slice(commandWords), values: rest });

  const envServer = env.DEVLIC_SERVER?.trim() || undefined;
  const envToken = env.DEVLIC_ADMIN_TOKEN?.trim() || undefined;
  const global: GlobalOptions = {
    server: typeof server === 'string'
      ? parseServer(server, '--server URL')
      : envServer ? parseServer(envServer, 'DEVLIC_SERVER') : DEFAULT_SERVER,
    token: typeof token === 'string' ? token.trim() || undefined : envToken,
    json: json === true,
  };
  return { kind: 'call', global, command, request };
}
