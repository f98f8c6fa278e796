// Runs an external program for an enforcer (reg.exe, defaults, admin hooks):
// argument array, no shell, bounded output, and a timeout that kills the
// whole process group so a hung hook cannot leave children behind.
import { spawn } from 'node:child_process';

export interface RunOptions {
  timeoutMs: number;
  /** The child's complete environment; nothing is inherited implicitly. */
  env?: NodeJS.ProcessEnv;
  /** Bytes of stdout/stderr kept (the tail); the rest is dropped. */
  maxOutput?: number;
  /** Milliseconds between SIGTERM and SIGKILL after a timeout. */
  killGraceMs?: number;
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
      detached: process.platform !== 'win32',
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
        if (process.platform === 'win32') child.kill(sig);
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
