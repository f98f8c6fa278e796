// Debian's own package check on the two built .deb packages: lintian must
// report no error (warnings are printed, so whoever reads the CI log sees
// them, and allowed). The overrides the packages carry are listed too, so a
// new one cannot hide unnoticed. Skips loudly without lintian or the built
// packages; fails then under DEVLIC_REQUIRE_REAL_APPS=1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST, REQUIRED, skipLoudly, VERSION } from './helpers.ts';

const DEBS = ['devlic-agent', 'devlic-server'].map((n) => join(DIST, `${n}_${VERSION}_amd64.deb`));
const missing = !existsSync('/usr/bin/lintian') ? 'lintian not installed (apt-get install lintian)'
  : DEBS.filter((d) => !existsSync(d)).map((d) => `${d} not built (npm run build)`).join(', ') || undefined;
const skip = skipLoudly('lintian on the .deb packages', missing);

describe.skipIf(skip)('lintian', () => {
  it('finds no error in either package (warnings and overrides listed)', () => {
    // --no-cfg: this machine's ~/.lintianrc cannot change the verdict. One run for both: lintian's start-up is slow.
    const r = spawnSync('lintian', ['--no-cfg', '--display-level', '>=warning', '--show-overrides', '--tag-display-limit', '0', ...DEBS], {
      encoding: 'utf8', timeout: 600_000, maxBuffer: 16 * 1024 * 1024,
    });
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => /^[EWO]: /.test(l));
    console.log(`lintian ${VERSION} packages:\n${lines.join('\n') || '(nothing at warning level or above)'}`);
    const errors = lines.filter((l) => l.startsWith('E: '));
    expect(errors, 'lintian errors').toEqual([]);
    // 1 = lintian itself failed. (2 = a finding at --fail-on level; with --show-overrides the
    // overridden ones count too, so 2 is expected here and the E: lines above decide.)
    expect([0, 2], r.stderr).toContain(r.status);
    // Every package was checked, and only the findings deb-docs.ts explains are overridden.
    const overridden = lines.filter((l) => l.startsWith('O: ')).map((l) => l.replace(/ \[.*$/, ''));
    expect([...new Set(overridden)].sort()).toEqual([
      'O: devlic-agent: embedded-library zlib', 'O: devlic-agent: unstripped-binary-or-object',
      'O: devlic-server: embedded-library zlib', 'O: devlic-server: unstripped-binary-or-object',
    ]);
  }, 900_000);
});

describe.runIf(REQUIRED && !!missing)('lintian (required)', () => {
  it('runs here (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
    expect.fail(missing);
  });
});
