// The one rule for paths the root agent runs or writes through: the pure
// judgement over every mode, owner and group combination, then the walk
// against real directories, symlinks and foreign owners in temp dirs.
import { chmodSync, chownSync, lchownSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertSafeDir, below, entryProblem, walkSafe, UnsafePathError, type EntryKind } from '../../agent/host/safe-path.ts';
import { writeSafeFile } from '../../agent/host/fsutil.ts';
import { tempDir } from './helpers.ts';

const ME = 1234; // the agent's own uid when not root
const OTHER = 65534;
const asRoot = process.getuid?.() === 0;

describe('entryProblem (pure)', () => {
  const kinds: EntryKind[] = ['dir', 'file', 'symlink'];

  it('over every mode: only owner, other-write and non-root group-write matter, sticky only on a directory', () => {
    for (const kind of kinds) {
      for (const uid of [0, ME, OTHER]) {
        for (const gid of [0, ME, OTHER]) {
          for (let mode = 0; mode <= 0o7777; mode++) {
            const got = entryProblem({ mode, uid, gid }, kind, ME);
            const sticky = kind === 'dir' && (mode & 0o1000) !== 0;
            let want: string | undefined;
            if (uid === OTHER) want = `is owned by uid ${OTHER}, not root`;
            else if (kind === 'symlink') want = undefined;
            else if ((mode & 0o002) && !sticky) want = 'is world-writable';
            else if ((mode & 0o020) && gid !== 0 && !sticky) want = `is group-writable (gid ${gid})`;
            if (got !== want) throw new Error(`${kind} uid ${uid} gid ${gid} mode ${mode.toString(8)}: got ${got}, want ${want}`);
          }
        }
      }
    }
  });

  it('named cases', () => {
    expect(entryProblem({ mode: 0o755, uid: 0, gid: 0 }, 'dir', ME)).toBeUndefined();
    expect(entryProblem({ mode: 0o775, uid: 0, gid: 0 }, 'dir', ME)).toBeUndefined(); // root's group
    expect(entryProblem({ mode: 0o775, uid: 0, gid: 50 }, 'dir', ME)).toBe('is group-writable (gid 50)'); // e.g. staff
    expect(entryProblem({ mode: 0o1777, uid: 0, gid: 0 }, 'dir', ME)).toBeUndefined(); // /tmp
    expect(entryProblem({ mode: 0o1775, uid: 0, gid: 50 }, 'dir', ME)).toBeUndefined();
    expect(entryProblem({ mode: 0o1775, uid: 0, gid: 50 }, 'file', ME)).toBe('is group-writable (gid 50)'); // sticky means nothing on a file
    expect(entryProblem({ mode: 0o777, uid: 0, gid: 0 }, 'symlink', ME)).toBeUndefined();
    expect(entryProblem({ mode: 0o777, uid: OTHER, gid: 0 }, 'symlink', ME)).toMatch(/owned by uid/);
    expect(entryProblem({ mode: 0o700, uid: ME, gid: ME }, 'dir', ME)).toBeUndefined();
  });
});

describe('walkSafe / assertSafeDir (real files)', () => {
  it('accepts a root-owned chain (root symlinks included) under sticky /tmp and returns the real path', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    symlinkSync(join(dir, 'a'), join(dir, 'link'));
    await expect(assertSafeDir(join(dir, 'a/b'))).resolves.toMatchObject({ real: join(dir, 'a/b') });
    expect((await assertSafeDir(join(dir, 'link/b'))).real).toBe(join(dir, 'a/b'));
    // A relative link with .. resolves like the kernel would.
    symlinkSync('../a/b', join(dir, 'a', 'up'));
    expect((await walkSafe(join(dir, 'a/up'), {})).real).toBe(join(dir, 'a/b'));
    symlinkSync('loop2', join(dir, 'loop1'));
    symlinkSync('loop1', join(dir, 'loop2'));
    await expect(walkSafe(join(dir, 'loop1'), {})).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it.runIf(asRoot)('refuses a symlink another user owns, or one in a folder a user group can write', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'target'));
    const pub = join(dir, 'pub');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    symlinkSync(join(dir, 'target'), join(pub, 'link'));
    await expect(assertSafeDir(join(pub, 'link'))).resolves.toBeDefined();
    lchownSync(join(pub, 'link'), OTHER, OTHER);
    await expect(assertSafeDir(join(pub, 'link'))).rejects.toThrow(/link is owned by uid 65534/);
    const grp = join(dir, 'grp');
    mkdirSync(grp);
    symlinkSync(join(dir, 'target'), join(grp, 'link'));
    chownSync(grp, 0, OTHER);
    chmodSync(grp, 0o775);
    await expect(assertSafeDir(join(grp, 'link'))).rejects.toThrow(/grp is group-writable/);
  });

  it('missing directories: reported, or created one by one', async () => {
    const dir = tempDir();
    await expect(assertSafeDir(join(dir, 'x/y'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await assertSafeDir(join(dir, 'x/y'), { missingOk: true })).toMatchObject({ missing: ['x', 'y'] });
    await assertSafeDir(join(dir, 'x/y'), { create: 0o755 });
    expect(readdirSync(join(dir, 'x'))).toEqual(['y']);
    writeFileSync(join(dir, 'f'), '');
    await expect(assertSafeDir(join(dir, 'f'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it.runIf(asRoot)('refuses directories a non-root user or group can change', async () => {
    const dir = tempDir();
    const d = join(dir, 'd');
    mkdirSync(d);
    chownSync(d, OTHER, 0);
    await expect(assertSafeDir(d)).rejects.toThrow(UnsafePathError);
    await expect(assertSafeDir(d)).rejects.toThrow(/d is owned by uid 65534/);
    chownSync(d, 0, OTHER);
    chmodSync(d, 0o775);
    await expect(assertSafeDir(join(d))).rejects.toThrow(/group-writable \(gid 65534\)/);
    chmodSync(d, 0o757);
    await expect(assertSafeDir(d)).rejects.toThrow(/world-writable/);
    chmodSync(d, 0o1777);
    await expect(assertSafeDir(d)).resolves.toBeDefined();
    // In a sticky directory, a name someone else planted is refused, also when it is where we would create one.
    mkdirSync(join(d, 'planted'));
    chownSync(join(d, 'planted'), OTHER, OTHER);
    await expect(assertSafeDir(join(d, 'planted', 'sub'), { create: 0o755 })).rejects.toThrow(/planted is owned by uid 65534/);
    expect(readdirSync(join(d, 'planted'))).toEqual([]);
  });

  it.runIf(asRoot)('writeSafeFile refuses a planted symlink or non-root-writable directory and writes nothing', async () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    const pub = join(dir, 'pub');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    symlinkSync(victim, join(pub, 'link'));
    lchownSync(join(pub, 'link'), OTHER, OTHER);
    await expect(writeSafeFile(join(pub, 'link', 'x.json'), '{}', 0o644)).rejects.toThrow(/refusing to write .*link is owned by uid 65534/);
    expect(readdirSync(victim)).toEqual([]);
    chownSync(victim, 0, OTHER);
    chmodSync(victim, 0o775);
    await expect(writeSafeFile(join(victim, 'x.json'), '{}', 0o644)).rejects.toThrow(/victim is group-writable/);
    expect(readdirSync(victim)).toEqual([]);
    // Root's own link to a safe folder: written in the real folder.
    chmodSync(victim, 0o755);
    chownSync(victim, 0, 0);
    symlinkSync(victim, join(dir, 'rootlink'));
    await writeSafeFile(join(dir, 'rootlink', 'y.json'), '{}', 0o644);
    expect(readdirSync(victim)).toEqual(['y.json']);
  });
});

describe('walkSafe inside another root (a chroot seen from the host)', () => {
  it('below(): the components under the root, or NOT_IN_ROOT', () => {
    expect(below('/srv/root', '/srv/root/usr/lib')).toEqual(['usr', 'lib']);
    expect(below('/srv/root/', '/srv/root')).toEqual([]);
    expect(below('/', '/etc/x')).toEqual(['etc', 'x']);
    expect(below('/srv/root', '/srv/root/a/../b')).toEqual(['a', '..', 'b']); // the walk resolves .. inside
    expect(below('/srv/root', '/srv/root/../other')).toEqual(['..', 'other']); // ...where it stops at the root
    for (const p of ['/srv/rootx/a', '/srv', '/srv/other/../root', '/etc']) {
      expect(() => below('/srv/root', p)).toThrow(expect.objectContaining({ code: 'NOT_IN_ROOT' }));
    }
    expect(() => below('srv/root', '/srv/root/a')).toThrow(/absolute/);
  });

  it('absolute links restart at the root and .. stops there: nothing leads out of it', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc/libreoffice/registry'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/libreoffice/share'), { recursive: true });
    writeFileSync(join(root, 'etc/libreoffice/registry/main.xcd'), 'inside');
    // As Debian ships it, but absolute: on the host this would be the host's /etc.
    symlinkSync('/etc/libreoffice/registry', join(root, 'usr/lib/libreoffice/share/registry'));
    symlinkSync('../../../../../../../../../etc', join(root, 'up'));
    symlinkSync('/', join(root, 'slash'));
    const r = await walkSafe(join(root, 'usr/lib/libreoffice/share/registry/main.xcd'), { root, missing: 'ok' });
    expect(r).toMatchObject({ real: join(root, 'etc/libreoffice/registry/main.xcd'), missing: [] });
    expect((await walkSafe(join(root, 'up/libreoffice'), { root })).real).toBe(join(root, 'etc/libreoffice'));
    expect((await walkSafe(join(root, 'slash/slash/etc'), { root })).real).toBe(join(root, 'etc'));
    expect((await walkSafe(`${root}/usr/../../../../etc`, { root })).real).toBe(join(root, 'etc'));
    // Missing inside the root: reported as inside it.
    expect(await walkSafe(join(root, 'slash/nope/x'), { root, missing: 'ok' })).toMatchObject({ real: join(root, 'nope'), missing: ['nope', 'x'] });
    await expect(walkSafe('/etc/passwd', { root })).rejects.toMatchObject({ code: 'NOT_IN_ROOT' });
  });

  it('a symlink loop inside the root is ELOOP', async () => {
    const root = tempDir();
    symlinkSync('/b', join(root, 'a'));
    symlinkSync('/a', join(root, 'b'));
    await expect(walkSafe(join(root, 'a/x'), { root })).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it.runIf(asRoot)('judges entries inside the root by the same rule', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc/reg'), { recursive: true });
    symlinkSync('/etc/reg', join(root, 'link'));
    lchownSync(join(root, 'link'), OTHER, OTHER);
    await expect(walkSafe(join(root, 'link'), { root })).rejects.toThrow(UnsafePathError);
    chmodSync(join(root, 'etc'), 0o777);
    await expect(walkSafe(join(root, 'etc/reg'), { root })).rejects.toThrow(/world-writable/);
  });
});
