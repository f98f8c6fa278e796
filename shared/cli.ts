// Helpers shared by the three command-line programs: argument parsing with
// clear usage errors, and the exit-code contract (2 = wrong usage with a
// one-line reason, 1 = failure with a message that says what to do).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DevlicError } from './errors.ts';
import { stderrText } from './journal.ts';

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...HELP, ...options } as typeof HELP & O, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** Runs a CLI's main function and turns its errors into the exit-code contract. */
export async function runCli(program: string, main: () => Promise<number | void>): Promise<void> {
  try {
    const code = await main();
    process.exitCode = code ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(stderrText(program, `${program}: ${e.message}\nTry '${program} --help'.\n`));
      process.exitCode = 2;
    } else if (e instanceof DevlicError) {
      process.stderr.write(stderrText(program, `${program}: ${e.message} [${e.code}]\n`));
      process.exitCode = 1;
    } else {
      process.stderr.write(stderrText(program, `${program}: ${(e as Error)?.stack ?? String(e)}\n`));
      process.exitCode = 1;
    }
  }
}

/** The shape of a duration: a whole number and a unit, always (is `90` seconds or days?). */
export const DURATION_PATTERN = '^\\s*\\d{1,9}\\s*(s|m|h|d|w)\\s*$';

/** Parses durations like 90s, 15m, 1h, 7d into seconds; a number without a unit is refused. */
export function parseDuration(text: string): number {
  const m = text.trim().match(/^(\d{1,9})\s*(s|m|h|d|w)$/);
  if (!m) {
    throw new UsageError(/^\d+$/.test(text.trim())
      ? `duration '${text}' needs a unit: ${text.trim()}s, ${text.trim()}m, ${text.trim()}h or ${text.trim()}d`
      : `invalid duration '${text}' (use e.g. 30s, 15m, 1h, 7d)`);
  }
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's'];
  return Number(m[1]) * unit;
}
