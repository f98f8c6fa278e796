// The chroot builder's cache rules (test/chroot/build-lo-chroot.sh), without
// building anything: a finished chroot (valid stamp) is reused as it is and
// a leftover DIR.partial beside it removed; --status tells ready, missing and
// incomplete apart; a half-built tree with something mounted in it is
// refused, never deleted through the mount. The real build is what .ci/run
// does before the tests (minutes, network); viewer-mode-chroot.test.ts uses it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, STAMP_NAME } from '../helpers/lo-chroot.ts';
import { tempDir } from './helpers.ts';

const BUILD = join(REPO, 'test/chroot/build-lo-chroot.sh');
const asRoot = process.getuid?.() === 0;
const STAMP = 'recipe=1\nmirror=http://deb.debian.org/debian\nlibreoffice-core=4:26.8.3.1-3~bpo13+1\n';

function build(args: string[]) {
  const r = spawnSync(BUILD, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, DEVLIC_LO_CHROOT: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('build-lo-chroot.sh cache rules', () => {
  it('--status: missing, incomplete (no stamp, an old recipe, a DIR.partial), ready', () => {
    const dir = join(tempDir(), 'lo');
    expect(build(['--status', dir])).toMatchObject({ code: 1, stdout: 'missing\n' });
    mkdirSync(`${dir}.partial`);
    expect(build(['--status', dir])).toMatchObject({ code: 1, stdout: 'incomplete\n' });
    mkdirSync(dir);
    expect(build(['--status', dir])).toMatchObject({ code: 1, stdout: 'incomplete\n' });
    writeFileSync(join(dir, STAMP_NAME), STAMP.replace('recipe=1', 'recipe=0'));
    expect(build(['--status', dir])).toMatchObject({ code: 1, stdout: 'incomplete\n' });
    writeFileSync(join(dir, STAMP_NAME), STAMP);
    expect(build(['--status', dir])).toMatchObject({ code: 0, stdout: 'ready\n' });
  });

  it('refuses a relative or root DIR', () => {
    expect(build(['relative/lo'])).toMatchObject({ code: 2, stderr: expect.stringContaining('absolute') });
    expect(build(['/'])).toMatchObject({ code: 2, stderr: expect.stringContaining('refusing') });
  });

  it.runIf(asRoot)('reuses a finished chroot untouched and drops a leftover DIR.partial', () => {
    const dir = join(tempDir(), 'lo');
    mkdirSync(join(dir, 'usr'), { recursive: true });
    writeFileSync(join(dir, STAMP_NAME), STAMP);
    mkdirSync(`${dir}.partial`);
    const r = build([dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(dir);
    expect(r.stderr).toContain(`reusing ${dir}`);
    expect(r.stderr).toContain('libreoffice-core=4:26.8.3.1');
    expect(readdirSync(dir).sort()).toEqual([STAMP_NAME, 'usr']);
    expect(existsSync(`${dir}.partial`)).toBe(false);
  });

  it.runIf(asRoot)('refuses to delete a half-built chroot that has something mounted in it', () => {
    const dir = join(tempDir(), 'lo');
    mkdirSync(join(dir, 'proc'), { recursive: true });
    writeFileSync(join(dir, 'marker'), 'half-built');
    const mnt = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', join(dir, 'proc')], { encoding: 'utf8' });
    expect(mnt.status, mnt.stderr).toBe(0);
    try {
      writeFileSync(join(dir, 'proc', 'host-file'), 'must survive');
      const r = build([dir]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`something is still mounted under ${dir}`);
      expect(existsSync(join(dir, 'proc', 'host-file'))).toBe(true);
      expect(existsSync(join(dir, 'marker'))).toBe(true);
    } finally {
      spawnSync('umount', [join(dir, 'proc')]);
    }
  });
});
