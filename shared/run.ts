// Every external program the agent and the installer start goes through
// here: the enforcers' reg.exe, defaults and admin hooks (runFile), and the
// installer's systemctl, launchctl and sc.exe calls (a Runner, so tests can
// record the exact command lines instead). Always an argument array, never a
// shell (no argument is ever interpreted by one), bounded output, bounded
// time; by default the child leads its own process group, so a timeout kills
// a hung hook's children too.
import { spawn } from 'node:child_process';

export interface RunOptions {
  timeoutMs: number;
  /** The child's complete environment; nothing is inherited implicitly. */
  env?: NodeJS.ProcessEnv;
  /** Bytes of stdout/stderr kept (the tail); the rest is dropped. */
  maxOutput?: number;
  /** Milliseconds between SIGTERM and SIGKILL after a timeout. */
  killGraceMs?: number;
  /**
   * Start the child in its own process group (POSIX; default true) so a
   * timeout kills the whole group. The installer says false: it runs from a
   * terminal, and Ctrl-C must reach the systemctl it is waiting for.
   */
  ownGroup?: boolean;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started (ENOENT, EACCES...). */
  spawnError?: string;
  ms: number;
}

export function runFile(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const max = opts.maxOutput ?? 64 * 1024;
  const started = Date.now();
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    // detached: the child leads a new process group, so a timeout can kill
    // the group (a shell script's children too), not just the first process.
    const child = spawn(file, args, {
      shell: false,
      windowsHide: true,
      detached: process.platform !== 'win32' && opts.ownGroup !== false,
      env: opts.env ?? minimalEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (acc: string, chunk: Buffer) => {
      const s = acc + chunk.toString('utf8');
      return s.length > max ? s.slice(s.length - max) : s;
    };
    child.stdout.on('data', (c: Buffer) => { stdout = keep(stdout, c); });
    child.stderr.on('data', (c: Buffer) => { stderr = keep(stderr, c); });

    const kill = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        if (process.platform === 'win32' || opts.ownGroup === false) child.kill(sig);
        else process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), opts.killGraceMs ?? 2000);
    }, opts.timeoutMs);

    const finish = (r: Omit<RunResult, 'stdout' | 'stderr' | 'timedOut' | 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      // After a timeout, nothing of the group may survive (even members
      // that ignored SIGTERM).
      if (timedOut) kill('SIGKILL');
      resolve({ ...r, stdout, stderr, timedOut, ms: Date.now() - started });
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish({ code: null, signal: null, spawnError: `${e.code ?? 'ERROR'}: ${e.message}` });
    });
    child.on('close', (code, signal) => finish({ code, signal }));
    // A background grandchild may keep the pipes open after the program
    // itself exited: do not wait for it beyond a short drain.
    child.on('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ code, signal });
      }, 250);
    });
  });
}

/** A small, predictable environment for tools run as root. */
export function minimalEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  if (process.platform === 'win32') {
    for (const k of ['SystemRoot', 'SystemDrive', 'windir', 'ComSpec', 'PATHEXT', 'TEMP', 'TMP']) {
      if (process.env[k] !== undefined) env[k] = process.env[k];
    }
    env.PATH = process.env.PATH ?? '';
  } else {
    env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    env.LANG = 'C';
  }
  return { ...env, ...extra };
}

/** One-line description of a failed run, for ApplyResult.error. */
export function describeFailure(what: string, r: RunResult, timeoutMs: number): string {
  if (r.spawnError) return `${what} could not be started: ${r.spawnError}`;
  if (r.timedOut) return `${what} timed out after ${timeoutMs} ms and was killed`;
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ').slice(0, 500);
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  return `${what} ${how}${tail ? `: ${tail}` : ''}`;
}

// ---- The installer's commands: a Runner, recorded in tests ----

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

/**
 * The real runner: runFile with the installer's environment (inherited, plus
 * cmd.env), output captured, bounded time. A timeout counts as exit code 1.
 */
export function processRunner(timeoutMs = 120_000): Runner {
  return {
    async run(cmd) {
      const r = await runFile(cmd.file, cmd.args, {
        timeoutMs, env: { ...process.env, ...cmd.env }, maxOutput: 8 * 1024 * 1024, ownGroup: false,
      });
      // Could not start at all (ENOENT...): say which program is missing.
      if (r.spawnError) throw new Error(`cannot run ${cmd.file}: ${r.spawnError}`);
      const result = { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr };
      if (result.code !== 0 && !cmd.allowFail) throw new CommandFailed(cmd, result);
      return result;
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
