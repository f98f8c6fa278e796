// Entry point of devlic-admin, the administrator's command-line client of the
// licensing service: parses argv (global flags anywhere), sends the one API
// request of the command, and prints the answer as a table or as JSON.
// Exit codes: 0 ok, 1 failure (message says what to do), 2 wrong usage or a
// change that would make devices read-only and was not confirmed.
import { createInterface } from 'node:readline/promises';
import { runCli } from '../../shared/cli.ts';
import type { Impact } from '../../shared/schemas/admin.ts';
import { parseInvocation } from './args.ts';
import { ApiError, callApi, CliFailure, type ClientOptions } from './client.ts';
import { withConfirm, type ApiRequest } from './command-spec.ts';
import { renderImpact } from './render.ts';
import { PROGRAM, TOKEN_PLACES } from './usage.ts';

const TOKEN_HELP =
  'no admin token: pass --token T or set DEVLIC_ADMIN_TOKEN.\n' +
  'The server writes a global-admin token to <data-dir>/admin-token at its first start:\n' +
  `${TOKEN_PLACES.join('\n')}\n` +
  "Further tokens: 'devlic-admin admins create --role global-admin|reader'.";

function fail(message: string, exit = 1): number {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
  return exit;
}

/** Refusals of what the admin typed (a bad rule, a hand edit of a rule or directory group, directory settings that cannot work): exit 2, like other wrong usage. */
const USAGE_CODES = new Set(['RULE_INVALID', 'GROUP_IS_RULE_BASED', 'GROUP_IS_DIRECTORY_BASED', 'DIRECTORY_SETTINGS_INVALID']);

/** y/N on the terminal; anything but y or yes is no. */
async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^\s*y(es)?\s*$/i.test(await rl.question(question));
  } finally {
    rl.close();
  }
}

/**
 * Sends the request; a change the service refuses with CONFIRMATION_REQUIRED
 * is shown with its impact and sent again, confirmed, only if the person at
 * the terminal says so. Returns 2 (nothing changed) otherwise.
 */
async function callConfirmed(opts: ClientOptions, request: ApiRequest, guarded: boolean): Promise<{ data: unknown } | { exit: number }> {
  try {
    return { data: await callApi(opts, request) };
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'CONFIRMATION_REQUIRED' || !guarded) throw e;
    const impact = e.details?.impact as Impact | undefined;
    process.stderr.write(impact ? renderImpact(impact) : `${e.message}\n`);
    if (process.stdin.isTTY && process.stderr.isTTY && await ask('Go ahead? [y/N] ')) {
      return { data: await callApi(opts, withConfirm(request)) };
    }
    process.stderr.write(`${PROGRAM}: nothing was changed; run it again with --yes to go ahead.\n`);
    return { exit: 2 };
  }
}

async function main(argv: string[]): Promise<number> {
  const inv = parseInvocation(argv, process.env);
  if (inv.kind === 'help') {
    process.stdout.write(inv.text);
    return 0;
  }
  const { global, command, request } = inv;
  if (!global.token) return fail(TOKEN_HELP);
  if (!/^[\x21-\x7e]+$/.test(global.token)) return fail('the admin token contains spaces or characters a token cannot have; check --token or DEVLIC_ADMIN_TOKEN');
  let data: unknown;
  try {
    const r = await callConfirmed({ server: global.server, token: global.token }, request, command.guarded === true);
    if ('exit' in r) return r.exit;
    data = r.data;
  } catch (e) {
    if (e instanceof ApiError) return fail(`${e.message} [${e.code}]${e.hint ? `\n${e.hint}` : ''}`, USAGE_CODES.has(e.code) ? 2 : 1);
    if (e instanceof CliFailure) return fail(e.message);
    throw e;
  }
  if (request.raw && typeof data === 'string') {
    process.stdout.write(data);
    return 0;
  }
  const items = (data as { items?: unknown } | null)?.items;
  if (command.answer === 'items' && !Array.isArray(items)) {
    return fail(`unexpected answer from ${global.server}: no 'items' list; are devlic-server and devlic-admin the same version?`);
  }
  if (global.json) {
    process.stdout.write(JSON.stringify(command.answer === 'items' ? items : data, null, 2) + '\n');
    return 0;
  }
  let text: string;
  try {
    text = command.render(data, { now: new Date(), server: global.server, body: request.body });
  } catch (e) {
    return fail(`cannot show the answer of ${global.server} as a table (${(e as Error).message}); are devlic-server and devlic-admin the same version? --json prints it as it is`);
  }
  process.stdout.write(text);
  return 0;
}

// A closed pipe (e.g. `devlic-admin devices list | head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

await runCli(PROGRAM, () => main(process.argv.slice(2)));
