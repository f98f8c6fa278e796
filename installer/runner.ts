// Every external program the installer starts goes through a Runner: the
// real one uses execFile with an argument array (never a shell string, so no
// argument is ever interpreted by a shell), and tests use a recording runner
// to assert the exact command lines for systemd, launchd and Windows.
import { execFile } from 'node:child_process';

export interface Command {
  file: string;
  args: string[];
  /** A non-zero exit is expected sometimes (stopping a service that is not there). */
  allowFail?: boolean;
  /** Only the service-manager calls are skipped when installing into a staging --root. */
  serviceManager?: boolean;
  /** Added to the child's environment: how secrets reach it without appearing on its command line. */
  env?: Record<string, string>;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Runner {
  run(cmd: Command): Promise<CommandResult>;
}

export class CommandFailed extends Error {
  readonly result: CommandResult;
  constructor(cmd: Command, result: CommandResult) {
    const out = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n  ');
    super(`${[cmd.file, ...redactArgs(cmd.args)].join(' ')} failed (exit ${result.code})${out ? `:\n  ${out}` : ''}`);
    this.result = result;
  }
}

/** Enroll tokens are secrets: the value after --token never appears in messages or logs. */
export function redactArgs(args: string[]): string[] {
  return args.map((a, i) => (args[i - 1] === '--token' ? '***' : a));
}

/** Removes a known secret from text (a child may echo it); short strings are left alone (they would match everywhere). */
export function redact(text: string, secret: string | undefined): string {
  return secret && secret.length >= 6 ? text.split(secret).join('***') : text;
}

/** The real runner: execFile, no shell, output captured, bounded time. */
export function execFileRunner(timeoutMs = 120_000): Runner {
  return {
    run(cmd) {
      return new Promise((done, fail) => {
        const env = cmd.env ? { ...process.env, ...cmd.env } : undefined;
        execFile(cmd.file, cmd.args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024, windowsHide: true, env }, (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
          if (e && typeof e.code === 'string') {
            // Could not start at all (ENOENT...): say which program is missing.
            fail(new Error(`cannot run ${cmd.file}: ${e.message}`));
            return;
          }
          const result = { code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) };
          if (result.code !== 0 && !cmd.allowFail) fail(new CommandFailed(cmd, result));
          else done(result);
        });
      });
    },
  };
}

/** For tests: records every command; `respond` decides each result (default: success). */
export class RecordingRunner implements Runner {
  readonly calls: Command[] = [];
  respond: (cmd: Command) => Partial<CommandResult> | Error | undefined;

  constructor(respond?: (cmd: Command) => Partial<CommandResult> | Error | undefined) {
    this.respond = respond ?? (() => undefined);
  }

  async run(cmd: Command): Promise<CommandResult> {
    this.calls.push(cmd);
    const r = this.respond(cmd);
    if (r instanceof Error) throw r;
    const result = { code: 0, stdout: '', stderr: '', ...r };
    if (result.code !== 0 && !cmd.allowFail) throw new CommandFailed(cmd, result);
    return result;
  }

  /** The calls as argv arrays, the shape tests compare against. */
  argv(): string[][] {
    return this.calls.map((c) => [c.file, ...c.args]);
  }
}
