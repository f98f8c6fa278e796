// Shared by the installer tests: where the built files are, loud skipping
// (a missing tool or build is a failure under DEVLIC_REQUIRE_REAL_APPS=1, as
// in CI), and a fake release folder for install tests that need no build.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/processes.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DIST = join(ROOT, 'dist');
export const REQUIRED = process.env.DEVLIC_REQUIRE_REAL_APPS === '1';
export const VERSION: string = (await import('../../package.json', { with: { type: 'json' } })).default.version;

/** Prints a loud warning when `missing` is set and not required; returns whether to skip. */
export function skipLoudly(what: string, missing: string | undefined): boolean {
  if (missing && !REQUIRED) {
    console.warn(`\n!!!!!!!! SKIPPING ${what}: ${missing}.\n!!!!!!!! Set DEVLIC_REQUIRE_REAL_APPS=1 to make this a failure.\n`);
  }
  return !!missing && !REQUIRED;
}

export function builtMissing(...names: string[]): string | undefined {
  const absent = names.filter((n) => !existsSync(join(DIST, n)));
  return absent.length ? `${absent.map((n) => `dist/${n}`).join(', ')} not built (run npm run build)` : undefined;
}

/**
 * A release folder with a stand-in executable: a shell script that records
 * its arguments (one per line, then the DEVLIC_ENROLL_TOKEN it was given) in $DEVLIC_FAKE_LOG, answers `status --json`
 * from $DEVLIC_FAKE_STATUS and fails `enroll` when $DEVLIC_FAKE_ENROLL_FAIL is set.
 */
export function fakeRelease(opts: { windows?: boolean; winsw?: boolean } = {}): string {
  const dir = tempDir('release');
  const exe = join(dir, opts.windows ? 'devlic-agent.exe' : 'devlic-agent');
  writeFileSync(exe, `#!/bin/sh
[ -n "$DEVLIC_FAKE_LOG" ] && { printf '%s\\n' "$@"; echo "env:DEVLIC_ENROLL_TOKEN=\${DEVLIC_ENROLL_TOKEN-}"; echo ---; } >> "$DEVLIC_FAKE_LOG"
case "$1" in
  status) [ -n "$DEVLIC_FAKE_STATUS" ] && { cat "$DEVLIC_FAKE_STATUS"; exit 0; }; echo '{"enrolled":false}';;
  enroll) [ -n "$DEVLIC_FAKE_ENROLL_FAIL" ] && { echo "enroll token rejected" >&2; exit 1; }; echo "Enrolled as device dev-1";;
esac
exit 0
`);
  chmodSync(exe, 0o755);
  writeFileSync(join(dir, 'better_sqlite3.node'), 'not really an addon');
  if (opts.winsw) writeFileSync(join(dir, 'devlic-agent-service.exe'), 'winsw');
  return dir;
}

export function stagingRoot(): string {
  const root = tempDir('root');
  mkdirSync(root, { recursive: true });
  return root;
}
