// The built devlic-server single executable (npm run build), run with an
// empty environment (`env -i`: no PATH, no Node anywhere it could find):
// --version, --help, usage errors, and a real serve with SQLite through the
// addon shipped beside it; the addon's safety checks; the release files.
// Skips loudly when dist/ is not built; fails then under DEVLIC_REQUIRE_REAL_APPS=1.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';
import { builtMissing, DIST, skipLoudly, VERSION } from './helpers.ts';

const missing = builtMissing('devlic-server', 'better_sqlite3.node', 'SHA256SUMS');
const skip = skipLoudly('the built devlic-server tests', missing);
const EXE = join(DIST, 'devlic-server');

function runEmptyEnv(exe: string, args: string[]) {
  return spawnSync(exe, args, { env: {}, encoding: 'utf8', timeout: 30_000 });
}

async function serve(exe: string, dataDir: string) {
  const port = await freePort();
  const proc = spawn(exe, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { url: `http://127.0.0.1:${port}`, proc, exit, output: () => out };
}

/** A copy of the executable in a fresh folder of the given mode, with or without the addon. */
function copyTo(mode: number, withAddon: boolean): string {
  const dir = join(tempDir('exe'), 'program');
  execFileSync('mkdir', ['-m', mode.toString(8), dir]);
  copyFileSync(EXE, join(dir, 'devlic-server'));
  chmodSync(join(dir, 'devlic-server'), 0o755);
  if (withAddon) copyFileSync(join(DIST, 'better_sqlite3.node'), join(dir, 'better_sqlite3.node'));
  return join(dir, 'devlic-server');
}

describe.skipIf(skip)('built devlic-server', () => {
  it('runs with an empty environment: --version, --help, wrong usage exits 2', () => {
    const v = runEmptyEnv(EXE, ['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toBe(`devlic-server ${VERSION}\n`);
    expect(v.stderr).toBe('');
    const h = runEmptyEnv(EXE, ['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/^Usage: devlic-server serve/);
    const bad = runEmptyEnv(EXE, ['frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
    // NODE_OPTIONS is ignored (execArgvExtension "none"): it cannot make the program load a file.
    const opt = spawnSync(EXE, ['--version'], { env: { NODE_OPTIONS: '--require /nonexistent/evil.js' }, encoding: 'utf8' });
    expect(opt.status).toBe(0);
  });

  it('serves the API with its SQLite database through the addon beside it', async () => {
    const dataDir = join(tempDir('built-srv'), 'data');
    const s = await serve(EXE, dataDir);
    try {
      await waitFor(`built server (${s.output()})`, async () => (await fetch(`${s.url}/healthz`)).ok, 20_000, 50);
      const admin = adminClient(s.url, readFileSync(join(dataDir, 'admin-token'), 'utf8').trim());
      const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 5, name: 'EA' });
      const group = await admin.ok('POST', '/groups', { name: 'Shared laptops' });
      await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: group.id });
      expect((await admin.ok('GET', '/licenses')).items).toHaveLength(1);
      expect(statSync(join(dataDir, 'devlic.db')).size).toBeGreaterThan(0);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      // The console's files are embedded in the executable, not read from a source tree.
      const page = await fetch(`${s.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      expect((await fetch(`${s.url}/console/console.css`)).status).toBe(200);
    } finally {
      s.proc.kill('SIGTERM');
    }
    expect(await s.exit).toBe(0);
  });

  it('refuses to start without its addon, or with one others could have replaced', async () => {
    for (const [exe, message] of [
      [copyTo(0o755, false), /SQLite addon .* is missing/],
      [copyTo(0o777, true), /writable by other users/],
    ] as const) {
      const s = await serve(exe, join(tempDir('built-srv-bad'), 'data'));
      expect(await s.exit).toBe(1);
      expect(s.output()).toMatch(message);
    }
  });

  it('release files: archive with executable, addon and guide; checksums that verify', () => {
    const tar = `devlic-server-${VERSION}-linux-x64.tar.gz`;
    expect(existsSync(join(DIST, tar))).toBe(true);
    const list = execFileSync('tar', ['-tvzf', join(DIST, tar)], { encoding: 'utf8' });
    expect(list).toMatch(new RegExp(`-rwxr-xr-x 0/0 .* devlic-server-${VERSION}-linux-x64/devlic-server\\n`));
    expect(list).toMatch(/-rw-r--r-- 0\/0 .*\/better_sqlite3\.node\n/);
    expect(list).toMatch(/\/INSTALL\.md\n/);
    const sums = readFileSync(join(DIST, 'SHA256SUMS'), 'utf8');
    expect(sums).toContain(`  ${tar}\n`);
    expect(sums).toContain(`  devlic-server_${VERSION}_amd64.deb\n`);
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: DIST, encoding: 'utf8' })).not.toMatch(/FAILED/);
  });
});

describe.runIf(!!missing && !skip)('built devlic-server (required)', () => {
  it('is built (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
    expect.fail(missing);
  });
});
