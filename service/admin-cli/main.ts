// Entry point of devlic-admin, the administrator's command-line client of the
// licensing service: parses argv (global flags anywhere), sends the one API
// request of the command, and prints the answer as a table or as JSON.
// Exit codes: 0 ok, 1 failure (message says what to do), 2 wrong usage.
import { runCli } from '../../shared/cli.ts';
import { parseInvocation } from './args.ts';
import { ApiError, callApi, CliFailure } from './client.ts';
import { PROGRAM } from './usage.ts';

const TOKEN_HELP =
  'no admin token: pass --token T or set DEVLIC_ADMIN_TOKEN.\n' +
  'The server writes a global-admin token to <data-dir>/admin-token at its first start, e.g.\n' +
  '  export DEVLIC_ADMIN_TOKEN="$(cat ./devlic-data/admin-token)"\n' +
  "Further tokens: 'devlic-admin admins create --role global-admin|reader'.";

function fail(message: string): number {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
  return 1;
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
    data = await callApi({ server: global.server, token: global.token }, request);
  } catch (e) {
    if (e instanceof ApiError) return fail(`${e.message} [${e.code}]${e.hint ? `\n${e.hint}` : ''}`);
    if (e instanceof CliFailure) return fail(e.message);
    throw e;
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
