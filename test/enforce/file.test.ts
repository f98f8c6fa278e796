// The file enforcer against a real temp dir, including paths a non-root
// user could redirect (symlinked or group/world-writable parents, a planted
// file or link or FIFO at the target).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileEnforcer } from '../../agent/enforce/file.ts';
import { tempDir } from './helpers.ts';

const RO = { mode: 'read-only' as const, reason: 'NOT_IN_LICENSED_GROUP', users: ['zoe', 'ann'] };

function clock(start = Date.parse('2030-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), tick: (ms: number) => { t += ms; } };
}

describe('file enforcer', () => {
  it('writes {mode, reason, users, at} as 0644 JSON in the data dir by default', async () => {
    const dataDir = tempDir();
    const c = clock();
    const e = createFileEnforcer({ name: 'file' }, { dataDir, now: c.now });
    const r = await e.apply(RO);
    const path = join(dataDir, 'app-mode.json');
    expect(r).toMatchObject({ enforcer: 'file', ok: true, changed: true, detail: { path } });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: ['ann', 'zoe'], at: '2030-01-01T00:00:00.000Z',
    });
    expect(statSync(path).mode & 0o777).toBe(0o644);
    // Atomic write leaves no temp file behind.
    expect(readdirSync(dataDir)).toEqual(['app-mode.json']);
  });

  it('is idempotent: same content (users in any order) keeps the file and its `at`', async () => {
    const dataDir = tempDir();
    const c = clock();
    const e = createFileEnforcer({ name: 'file' }, { dataDir, now: c.now });
    await e.apply(RO);
    c.tick(60_000);
    const again = await e.apply({ ...RO, users: ['ann', 'zoe', 'ann'] });
    expect(again.changed).toBe(false);
    expect(JSON.parse(readFileSync(join(dataDir, 'app-mode.json'), 'utf8')).at).toBe('2030-01-01T00:00:00.000Z');

    const full = await e.apply({ mode: 'full', reason: 'ASSIGNED', users: ['ann'] });
    expect(full.changed).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir, 'app-mode.json'), 'utf8'))).toMatchObject({ mode: 'full', at: '2030-01-01T00:01:00.000Z' });
  });

  it('writes each signed-in person\'s entry (issue 16), sorted, and sees a changed entry as drift', async () => {
    const dataDir = tempDir();
    const c = clock();
    const e = createFileEnforcer({ name: 'file' }, { dataDir, now: c.now });
    const alice = { user: 'alice@contoso', mode: 'full' as const, licence: 'user' as const, reason: 'ASSIGNED' };
    const bob = { user: 'bob', mode: 'read-only' as const, licence: null, reason: 'NOT_IN_LICENSED_GROUP' };
    const target = { ...RO, userModes: [bob, alice] };
    expect((await e.apply(target)).changed).toBe(true);
    const path = join(dataDir, 'app-mode.json');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: ['ann', 'zoe'], userModes: [alice, bob], at: '2030-01-01T00:00:00.000Z',
    });
    expect((await e.apply({ ...RO, userModes: [alice, bob] })).changed).toBe(false);
    expect((await e.verify(target)).drift).toEqual([]);
    // Someone edits their own entry to full: drift, and apply puts it back.
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    doc.userModes[1].mode = 'full';
    writeFileSync(path, JSON.stringify(doc));
    expect((await e.verify(target)).drift).toContain('mode file per-user modes differ');
    expect((await e.apply(target)).changed).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).userModes[1]).toEqual(bob);
    // A decision for the device alone (no people known) does not count the entries as drift...
    expect((await e.verify(RO)).drift).toEqual([]);
    // ...and one that changes the file writes it without them.
    await e.apply({ ...RO, users: ['ann'] });
    expect(JSON.parse(readFileSync(path, 'utf8')).userModes).toBeUndefined();
  });

  it('rewrites a corrupt file or one with the wrong mode bits', async () => {
    const dataDir = tempDir();
    const path = join(dataDir, 'app-mode.json');
    const e = createFileEnforcer({ name: 'file' }, { dataDir });
    writeFileSync(path, '{not json');
    expect((await e.apply(RO)).changed).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).mode).toBe('read-only');
    chmodSync(path, 0o600);
    expect((await e.apply(RO)).changed).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o644);
  });

  it('writes a configured path, creating its directory', async () => {
    const dir = tempDir();
    const path = join(dir, 'sub', 'dir', 'mode.json');
    const e = createFileEnforcer({ name: 'file', path }, { dataDir: '/nonexistent' });
    expect((await e.check()).ok).toBe(true);
    expect((await e.apply(RO)).ok).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).users).toEqual(['ann', 'zoe']);
  });

  it('reports an unwritable location', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'blocker'));
    // A directory where the file should be: the rename cannot replace it.
    const e = createFileEnforcer({ name: 'file', path: join(dir, 'blocker') }, { dataDir: dir });
    const r = await e.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.error).toBeTruthy();
    writeFileSync(join(dir, 'plainfile'), '');
    const bad = createFileEnforcer({ name: 'file', path: join(dir, 'plainfile', 'x.json') }, { dataDir: dir });
    expect((await bad.check()).ok).toBe(false);
  });

  const asRoot = process.getuid?.() === 0;
  const OTHER = 65534;

  it.runIf(asRoot)('refuses a target behind a symlinked directory another user planted, and writes nothing through it', async () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    // A shared sticky folder (like /tmp) where the configured folder does not exist yet: a user plants it as a link.
    const pub = join(dir, 'pub');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    symlinkSync(victim, join(pub, 'kiosk'));
    lchownSync(join(pub, 'kiosk'), OTHER, OTHER);
    const e = createFileEnforcer({ name: 'file', path: join(pub, 'kiosk', 'mode.json') }, { dataDir: dir });
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: false, detail: { code: 'UNSAFE_PATH' } });
    expect(r.error).toMatch(/kiosk is owned by uid 65534/);
    expect(readdirSync(victim)).toEqual([]);
    expect(await e.check()).toMatchObject({ ok: false, message: expect.stringMatching(/kiosk is owned by uid 65534/) });
    // With directories still to create below it: none is made through the link.
    const deep = createFileEnforcer({ name: 'file', path: join(pub, 'kiosk', 'sub', 'mode.json') }, { dataDir: dir });
    expect(await deep.apply(RO)).toMatchObject({ ok: false });
    expect(readdirSync(victim)).toEqual([]);
    // A root-owned link in a folder a user group can write: they could repoint it.
    const grp = join(dir, 'grp');
    mkdirSync(grp);
    symlinkSync(victim, join(grp, 'kiosk'));
    chownSync(grp, 0, OTHER);
    chmodSync(grp, 0o775);
    const viaGrp = createFileEnforcer({ name: 'file', path: join(grp, 'kiosk', 'mode.json') }, { dataDir: dir });
    expect((await viaGrp.apply(RO)).error).toMatch(/grp is group-writable/);
    expect(readdirSync(victim)).toEqual([]);
    // Root's own link in root's folder is as safe as a folder: written in the real one.
    symlinkSync(victim, join(dir, 'rootlink'));
    const viaRoot = createFileEnforcer({ name: 'file', path: join(dir, 'rootlink', 'mode.json') }, { dataDir: dir });
    expect(await viaRoot.apply(RO)).toMatchObject({ ok: true, changed: true });
    expect(readdirSync(victim)).toEqual(['mode.json']);
  });

  it.runIf(asRoot)('refuses a parent directory writable by a non-root user or group', async () => {
    const dir = tempDir();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    const e = createFileEnforcer({ name: 'file', path: join(shared, 'sub', 'mode.json') }, { dataDir: dir });
    chownSync(shared, 0, OTHER);
    chmodSync(shared, 0o775);
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: false });
    expect(r.error).toMatch(/shared is group-writable \(gid 65534\)/);
    expect(readdirSync(shared)).toEqual([]);
    expect((await e.check()).message).toMatch(/group-writable/);
    chmodSync(shared, 0o755);
    chownSync(shared, OTHER, OTHER);
    expect((await e.apply(RO)).error).toMatch(/shared is owned by uid 65534/);
    expect(readdirSync(shared)).toEqual([]);
    // Root's group, or a sticky directory like /tmp, is fine.
    chownSync(shared, 0, 0);
    chmodSync(shared, 0o775);
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: true });
  });

  it.runIf(asRoot)('in a sticky shared directory, replaces what another user planted at the target', async () => {
    const dir = tempDir();
    const pub = join(dir, 'pub');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    const path = join(pub, 'mode.json');
    const e = createFileEnforcer({ name: 'file', path }, { dataDir: dir });

    // Their own file with exactly the right content: not ours, they could edit it later.
    writeFileSync(path, JSON.stringify({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: ['ann', 'zoe'], at: '2030-01-01T00:00:00.000Z' }));
    chmodSync(path, 0o644);
    chownSync(path, OTHER, OTHER);
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: true });
    expect(statSync(path).uid).toBe(0);

    // A symlink to a file of theirs choosing: replaced, never written through.
    const target = join(dir, 'precious');
    writeFileSync(target, 'keep me');
    const link = join(pub, 'link.json');
    symlinkSync(target, link);
    lchownSync(link, OTHER, OTHER);
    const viaLink = createFileEnforcer({ name: 'file', path: link }, { dataDir: dir });
    expect(await viaLink.apply(RO)).toMatchObject({ ok: true, changed: true });
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(lstatSync(link).isSymbolicLink()).toBe(false);

    // A FIFO: reading it would block the agent forever.
    const fifo = join(pub, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const viaFifo = createFileEnforcer({ name: 'file', path: fifo }, { dataDir: dir });
    expect(await viaFifo.apply(RO)).toMatchObject({ ok: true, changed: true });
    expect(statSync(fifo).isFile()).toBe(true);
    expect(existsSync(fifo)).toBe(true);
  }, 15_000);
});
