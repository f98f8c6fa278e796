// The test hooks (DEVLIC_FAKE_NOW_FILE, DEVLIC_FAKE_IDENTITY_FILE) must not
// exist in what ships: the bundle step's define drops them as dead code.
// Checked three ways, fastest first: a small entry bundled by the real
// bundle() (and run, with the hook variables set: nothing fake happens); the
// real agent and server entries bundled (esbuild only, seconds); and the
// built single executables from npm run build (skips loudly when not built,
// fails then under DEVLIC_REQUIRE_REAL_APPS=1). Source runs keep the hooks
// (test/agent/clock.unit.test.ts, identity.unit.test.ts use them).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundle } from '../../installer/build/bundle.ts';
import { tempDir } from '../helpers/processes.ts';
import { builtMissing, DIST, REQUIRED, ROOT, skipLoudly } from './helpers.ts';

const HOOK_NAMES = ['DEVLIC_FAKE_NOW_FILE', 'DEVLIC_FAKE_IDENTITY_FILE'];
// Any other DEVLIC_FAKE_* hook someone adds later is caught as well.
const ANY_FAKE = /DEVLIC_FAKE_|FAKE_NOW|FAKE_IDENTITY/;

async function bundled(entryAbs: string, opts: { minify?: boolean } = {}): Promise<string> {
  const outfile = join(tempDir('release-hooks'), 'out.cjs');
  const r = await bundle({ repo: ROOT, entry: relative(ROOT, entryAbs), outfile, minify: opts.minify });
  expect(r.bytes).toBeGreaterThan(0);
  return readFileSync(outfile, 'utf8');
}

describe('test hooks are compiled out of release bundles', () => {
  it('a small entry using both hooks: no trace of their names, and setting them changes nothing', async () => {
    const dir = tempDir('release-hooks-entry');
    const now = join(dir, 'now');
    const ident = join(dir, 'identity.json');
    writeFileSync(now, '2001-01-01T00:00:00Z');
    writeFileSync(ident, JSON.stringify({ hostname: 'fake-host' }));
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, [
      `import { clockFromEnv } from ${JSON.stringify(join(ROOT, 'agent/decision/clock.ts'))};`,
      `import { identitySourceFromEnv, platformIdentity } from ${JSON.stringify(join(ROOT, 'agent/host/identity.ts'))};`,
      'const c = clockFromEnv();',
      'console.log(JSON.stringify({ fake: c.fake, year: new Date(c.now()).getUTCFullYear(), platform: identitySourceFromEnv() === platformIdentity }));',
    ].join('\n'));
    for (const minify of [true, false]) {
      const js = await bundled(entry, { minify });
      for (const n of HOOK_NAMES) expect(js, `${n} (minify ${minify})`).not.toContain(n);
      expect(js).not.toMatch(ANY_FAKE);
      // The code that would read them is gone too, not just renamed.
      expect(js).not.toMatch(/fakeClock|fakeIdentitySource|parseFakeNow/);
      const out = join(dir, `b-${minify}.cjs`);
      writeFileSync(out, js);
      const env = { PATH: process.env.PATH, DEVLIC_FAKE_NOW_FILE: now, DEVLIC_FAKE_IDENTITY_FILE: ident };
      const r = JSON.parse(execFileSync(process.execPath, [out], { env, encoding: 'utf8' }));
      expect(r.fake).toBe(false);
      expect(r.year).toBeGreaterThan(2020);
      expect(r.platform).toBe(true);
    }
  });

  it.each([['devlic-agent', 'installer/agent-entry.ts'], ['devlic-server', 'service/main.ts']])('%s: the real entry bundles without them', async (_name, entry) => {
    const js = await bundled(join(ROOT, entry));
    expect(js).not.toMatch(ANY_FAKE);
  }, 60_000);
});

const missing = builtMissing('devlic-agent', 'devlic-server');
const skip = skipLoudly('the check of the built executables for test hooks', missing);

describe.skipIf(skip)('built executables (npm run build)', () => {
  it.each(['devlic-agent', 'devlic-server'])('%s holds no test hook name', (name) => {
    const exe = readFileSync(join(DIST, name));
    // The program's text is in the executable (SEA keeps the script): a
    // string the agent does use is found, so absence means something.
    expect(exe.includes('DEVLIC_ADMIN_TOKEN') || exe.includes('DEVLIC_ENROLL_TOKEN')).toBe(true);
    for (const n of [...HOOK_NAMES, 'DEVLIC_FAKE_', 'DEVLIC_RELEASE_BUILD']) expect(exe.includes(n), n).toBe(false);
  });
});

describe.runIf(REQUIRED && !!missing)('built executables (required)', () => {
  it('are built (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
    expect.fail(missing);
  });
});
