// The cached Debian trixie chroot with LibreOffice from trixie-backports
// (test/chroot/build-lo-chroot.sh builds it; .ci/run does that before the
// tests): where it is, whether it is complete, and running a command in it
// through test/chroot/in-chroot.sh (its own mount namespace: proc, devpts,
// shm and this repository read-only at /devlic).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
export const IN_CHROOT = join(REPO, 'test/chroot/in-chroot.sh');
/** Where the repository appears inside the chroot. */
export const REPO_INSIDE = '/devlic';
export const STAMP_NAME = '.devlic-lo-chroot-stamp';

export function chrootDir(): string {
  return process.env.DEVLIC_LO_CHROOT || '/var/cache/devlic-ci/lo-chroot';
}

/** The stamp's package versions (e.g. {'libreoffice-core': '4:26.8.3.1-3~bpo13+1'}). */
export function stampVersions(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(dir, STAMP_NAME), 'utf8').split('\n')) {
    const m = line.match(/^([a-z0-9.+-]+)=(.+)$/);
    if (m && !['recipe', 'mirror', 'built', 'seconds'].includes(m[1])) out[m[1]] = m[2];
  }
  return out;
}

/** Why the chroot cannot be used here, or undefined when it can. */
export function chrootMissing(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (chroot and mounts need it)';
  if (!existsSync(join(dir, STAMP_NAME))) return `no finished chroot at ${dir} (build it: test/chroot/build-lo-chroot.sh; DEVLIC_LO_CHROOT overrides the place)`;
  for (const p of ['usr/lib/libreoffice/program/soffice', 'usr/bin/python3']) {
    if (!existsSync(join(dir, p))) return `${dir} lacks /${p}; rebuild it (delete ${join(dir, STAMP_NAME)} and run test/chroot/build-lo-chroot.sh)`;
  }
  for (const p of ['/usr/bin/unshare', '/usr/sbin/chroot']) if (!existsSync(p)) return `${p} missing (util-linux / coreutils)`;
  return undefined;
}

export interface Ran { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Starts `argv` inside the chroot in a process group of its own (kill it with killGroup). */
export function startIn(dir: string, argv: string[]): ChildProcess {
  return spawn(IN_CHROOT, [dir, REPO, ...argv], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `argv` inside the chroot to its end (or `timeoutMs`, then kills its group). */
export function runIn(dir: string, argv: string[], timeoutMs: number): Promise<Ran> {
  const child = startIn(dir, argv);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => killGroup(child), timeoutMs);
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
  });
}

export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The last stdout line that is a JSON object, parsed; throws with the output otherwise. */
export function lastJson<T>(r: Ran, what: string): T {
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (r.code !== 0 || !line) throw new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as T;
}
