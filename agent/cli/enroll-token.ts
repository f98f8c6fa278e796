// Where an enroll token comes from. `--token T` is the simple way, but every
// user of the machine can read a command line (ps, /proc) while the command
// runs; `--token-file F` (or `-` for standard input) and the environment
// variable DEVLIC_ENROLL_TOKEN keep it out of sight. `devlic-agent install`
// hands the token to its enroll step through that variable: a root process's
// environment is readable only by root.
import { readFileSync } from 'node:fs';
import { UsageError } from '../../shared/cli.ts';
import { AgentError } from '../errors.ts';

export const ENROLL_TOKEN_ENV = 'DEVLIC_ENROLL_TOKEN';

export const ENROLL_TOKEN_OPTIONS = { token: { type: 'string' }, 'token-file': { type: 'string' } } as const;

/** The help lines for the two flags, with descriptions starting at column `col`. */
export function enrollTokenHelp(col: number): string {
  const line = (flag: string, text: string) => `  ${flag.padEnd(col - 2)}${text}`;
  return [
    line('--token T', 'enroll token from an administrator (other users can see it in'),
    line('', 'the process list while this runs; prefer --token-file)'),
    line('--token-file F', "read the enroll token from file F ('-': standard input);"),
    line('', `${ENROLL_TOKEN_ENV} in the environment works too`),
  ].join('\n');
}

/** Longer than any token devlic-admin makes, short enough that a wrong file is caught. */
const MAX_TOKEN_CHARS = 1024;

/**
 * The token from the flags or the environment, or undefined when none is
 * given. Two sources at once are a usage error, as is a malformed token.
 */
export function enrollTokenFrom(
  values: { token?: unknown; 'token-file'?: unknown },
  env: Record<string, string | undefined> = process.env,
  readFile: (path: string | 0) => string = (p) => readFileSync(p, 'utf8'),
): string | undefined {
  const flag = typeof values.token === 'string' ? values.token : undefined;
  const file = typeof values['token-file'] === 'string' ? values['token-file'] : undefined;
  if (flag !== undefined && file !== undefined) throw new UsageError('give the enroll token once: --token or --token-file, not both');
  let token: string | undefined;
  let from: string;
  if (file !== undefined) {
    from = file === '-' ? 'standard input' : file;
    try {
      token = readFile(file === '-' ? 0 : file);
    } catch (e) {
      throw new AgentError(`cannot read the enroll token from ${from}: ${(e as Error).message}`);
    }
  } else if (flag !== undefined) {
    token = flag;
    from = '--token';
  } else {
    token = env[ENROLL_TOKEN_ENV];
    from = ENROLL_TOKEN_ENV;
    if (token === undefined || token === '') return undefined;
  }
  token = token.trim();
  if (token === '') throw new UsageError(`the enroll token from ${from} is empty`);
  if (token.length > MAX_TOKEN_CHARS || /\s/.test(token)) {
    throw new UsageError(`the enroll token from ${from} is not a token (one word of at most ${MAX_TOKEN_CHARS} characters, as 'devlic-admin enroll-tokens create' prints)`);
  }
  return token;
}
