// The hook enforcer with real scripts in temp dirs: environment, no shell,
// timeout with kill, refusal of unsafe files (also one that became unsafe
// after it ran), idempotence.
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertSafeExecutable, createHookEnforcer } from '../../agent/enforce/hook.ts';
import { tempDir } from './helpers.ts';

const RO = { mode: 'read-only' as const, reason: 'NOT_IN_LICENSED_GROUP', users: ['zoe', 'ann'] };
const FULL = { mode: 'full' as const, reason: 'ASSIGNED', users: [] };

function script(dir: string, name: string, body: string, mode = 0o755): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, mode);
  return p;
}

// Running (a zombie that was killed but not yet reaped does not count).
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('hook enforcer', () => {
  it('runs the hook with DEVLIC_* in a minimal environment, args passed verbatim', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.txt');
    const hook = script(dir, 'hook.sh', `{ echo "$DEVLIC_MODE|$DEVLIC_REASON|$DEVLIC_USERS|$1|$2|\${SECRET:-unset}"; } >> '${out}'`);
    process.env.SECRET = 'from-agent-env';
    try {
      const e = createHookEnforcer({ name: 'hook', path: hook, args: ['a b', '$(touch x);'] }, { dataDir: dir, platform: 'linux' });
      const r = await e.apply(RO);
      expect(r).toMatchObject({ ok: true, changed: true, detail: { exitCode: 0 } });
      // No shell: the argument with $(...) arrives as text and runs nothing.
      expect(readFileSync(out, 'utf8')).toBe('read-only|NOT_IN_LICENSED_GROUP|ann,zoe|a b|$(touch x);|unset\n');
      expect(existsSync(join(dir, 'x'))).toBe(false);
    } finally {
      delete process.env.SECRET;
    }
  });

  it('passes each signed-in person\'s mode and licence (issue 16), and reruns when only they change', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.txt');
    const hook = script(dir, 'hook.sh', `{ echo "$DEVLIC_MODE|\${DEVLIC_USER_MODES-unset}"; } >> '${out}'`);
    const e = createHookEnforcer({ name: 'hook', path: hook }, { dataDir: dir, platform: 'linux' });
    const alice = { user: 'alice@contoso', mode: 'full' as const, licence: 'user' as const, reason: 'ASSIGNED' };
    const bob = { user: 'bob', mode: 'read-only' as const, licence: null, reason: 'NOT_IN_LICENSED_GROUP' };
    expect((await e.apply({ ...RO, userModes: [bob, alice] })).changed).toBe(true);
    // The same people in another order is the same target.
    expect((await e.apply({ ...RO, userModes: [alice, bob] })).changed).toBe(false);
    expect((await e.apply({ ...RO, userModes: [alice, { ...bob, mode: 'full', licence: 'device', reason: 'ASSIGNED' }] })).changed).toBe(true);
    expect((await e.apply(RO)).changed).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('read-only|alice@contoso=full:user,bob=read-only:\nread-only|alice@contoso=full:user,bob=full:device\nread-only|unset\n');
  });

  it('does not rerun for an unchanged target, also after a restart', async () => {
    const dir = tempDir();
    const count = join(dir, 'count');
    const hook = script(dir, 'hook.sh', `echo run >> '${count}'`);
    const e = createHookEnforcer({ name: 'hook', path: hook }, { dataDir: dir, platform: 'linux' });
    expect((await e.apply(RO)).changed).toBe(true);
    const again = await e.apply({ ...RO, users: ['ann', 'zoe'] });
    expect(again).toMatchObject({ ok: true, changed: false });
    const restarted = createHookEnforcer({ name: 'hook', path: hook }, { dataDir: dir, platform: 'linux' });
    expect((await restarted.apply(RO)).changed).toBe(false);
    expect((await restarted.apply(FULL)).changed).toBe(true);
    expect(readFileSync(count, 'utf8')).toBe('run\nrun\n');
  });

  it('reports a failing hook and retries it next time', async () => {
    const dir = tempDir();
    const flag = join(dir, 'ok');
    const hook = script(dir, 'hook.sh', `echo "cannot reach kiosk" >&2; [ -e '${flag}' ] || exit 3`);
    const e = createHookEnforcer({ name: 'hook', path: hook }, { dataDir: dir, platform: 'linux' });
    const r = await e.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/exited with code 3: cannot reach kiosk/);
    writeFileSync(flag, '');
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: true });
  });

  it('kills the whole process group on timeout and reports it', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'child.pid');
    // The hook starts a child that ignores SIGTERM, then hangs.
    const hook = script(dir, 'hook.sh', `sh -c 'trap "" TERM; echo $$ > "${pidFile}"; while :; do sleep 0.1; done' &\nwait`);
    const e = createHookEnforcer({ name: 'hook', path: hook, timeoutMs: 500 }, { dataDir: dir, platform: 'linux' });
    const started = Date.now();
    const r = await e.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/timed out after 500 ms and was killed/);
    expect(Date.now() - started).toBeLessThan(5000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // SIGKILL is asynchronous and the orphan is reaped by init: poll briefly.
    const deadline = Date.now() + 3000;
    while (alive(pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(alive(pid)).toBe(false);
  });

  it('refuses unsafe hooks: relative, world-writable, foreign-owned, in an open directory', async () => {
    const dir = tempDir();
    await expect(assertSafeExecutable('hook.sh', 'linux')).rejects.toThrow(/absolute/);

    const ww = script(dir, 'ww.sh', 'exit 0', 0o757);
    chmodSync(ww, 0o757);
    await expect(assertSafeExecutable(ww, 'linux')).rejects.toThrow(/ww\.sh is world-writable/);
    const e = createHookEnforcer({ name: 'hook', path: ww }, { dataDir: dir, platform: 'linux' });
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: false });
    expect(r.error).toMatch(/world-writable/);
    expect((await e.check()).ok).toBe(false);

    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const inOpen = script(open, 'h.sh', 'exit 0');
    await expect(assertSafeExecutable(inOpen, 'linux')).rejects.toThrow(/is world-writable/);
    // The sticky bit (as on /tmp) stops others from replacing the file.
    chmodSync(open, 0o1777);
    await expect(assertSafeExecutable(inOpen, 'linux')).resolves.toBeUndefined();

    const noexec = script(dir, 'noexec.sh', 'exit 0', 0o644);
    await expect(assertSafeExecutable(noexec, 'linux')).rejects.toThrow(/not executable/);

    const link = join(dir, 'link.sh');
    symlinkSync(ww, link);
    await expect(assertSafeExecutable(link, 'linux')).rejects.toThrow(/ww\.sh is world-writable/);

    if (process.getuid?.() === 0) {
      const foreign = script(dir, 'foreign.sh', 'exit 0');
      chownSync(foreign, 65534, 65534);
      await expect(assertSafeExecutable(foreign, 'linux')).rejects.toThrow(/owned by uid 65534/);
    }
  });

  it('check accepts a safe hook and reports a missing one', async () => {
    const dir = tempDir();
    const ok = createHookEnforcer({ name: 'hook', path: script(dir, 'ok.sh', 'exit 0') }, { dataDir: dir, platform: 'linux' });
    expect((await ok.check()).ok).toBe(true);
    const missing = createHookEnforcer({ name: 'hook', path: join(dir, 'missing.sh') }, { dataDir: dir, platform: 'linux' });
    const c = await missing.check();
    expect(c.ok).toBe(false);
    expect(c.message).toMatch(/ENOENT/);
  });

  // The machine runs tests as root, so files can be given another group.
  const asRoot = process.getuid?.() === 0;
  const OTHER = 65534; // nogroup / nobody

  it.runIf(asRoot)('refuses a hook file writable by a group other than root', async () => {
    const dir = tempDir();
    const count = join(dir, 'count');
    const hook = script(dir, 'gw.sh', `echo run >> '${count}'`, 0o775);
    chmodSync(hook, 0o775);
    // Group-writable by root's own group: only root can write it.
    await expect(assertSafeExecutable(hook, 'linux')).resolves.toBeUndefined();
    chownSync(hook, 0, OTHER);
    await expect(assertSafeExecutable(hook, 'linux')).rejects.toThrow(new RegExp(`gw\\.sh is group-writable \\(gid ${OTHER}\\)`));
    const e = createHookEnforcer({ name: 'hook', path: hook }, { dataDir: dir, platform: 'linux' });
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: false, detail: { code: 'UNSAFE_PATH' } });
    expect(r.error).toMatch(/group-writable/);
    expect(existsSync(count)).toBe(false);
    expect(await e.check()).toMatchObject({ ok: false, message: expect.stringMatching(/group-writable \(gid 65534\)/) });
  });

  it.runIf(asRoot)('refuses a hook under a directory writable by a group other than root, unless sticky', async () => {
    const dir = tempDir();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    const hook = script(shared, 'h.sh', 'exit 0');
    chmodSync(shared, 0o775);
    await expect(assertSafeExecutable(hook, 'linux')).resolves.toBeUndefined(); // group root
    chownSync(shared, 0, OTHER);
    await expect(assertSafeExecutable(hook, 'linux')).rejects.toThrow(/shared is group-writable \(gid 65534\)/);
    // Sticky: group members may add names but not rename or remove root's h.sh.
    chmodSync(shared, 0o1775);
    await expect(assertSafeExecutable(hook, 'linux')).resolves.toBeUndefined();
    // ...but a name they planted there is theirs, and refused.
    const planted = script(shared, 'planted.sh', 'exit 0');
    chownSync(planted, OTHER, OTHER);
    await expect(assertSafeExecutable(planted, 'linux')).rejects.toThrow(/planted\.sh is owned by uid 65534/);

    // The directory chain above the real file counts too, when reached through a symlink.
    const safe = join(dir, 'safe');
    mkdirSync(safe);
    chmodSync(shared, 0o775);
    symlinkSync(hook, join(safe, 'link.sh'));
    await expect(assertSafeExecutable(join(safe, 'link.sh'), 'linux')).rejects.toThrow(/shared is group-writable/);
  });

  it.runIf(asRoot)('refuses a symlink to a root hook that another user owns (they could repoint it)', async () => {
    const dir = tempDir();
    const hook = script(dir, 'real.sh', 'exit 0');
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    const link = join(open, 'hook.sh');
    symlinkSync(hook, link);
    await expect(assertSafeExecutable(link, 'linux')).resolves.toBeUndefined();
    lchownSync(link, OTHER, OTHER);
    await expect(assertSafeExecutable(link, 'linux')).rejects.toThrow(/hook\.sh is owned by uid 65534/);
  });

  it.runIf(asRoot)('re-checks at every apply: a hook that became unsafe after it ran is reported and not run again', async () => {
    const dir = tempDir();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const count = join(dir, 'count');
    const hook = script(bin, 'hook.sh', `echo run >> '${count}'`);
    const e = createHookEnforcer({ name: 'hook', path: hook }, { dataDir: dir, platform: 'linux' });
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: true });
    expect(readFileSync(count, 'utf8')).toBe('run\n');

    // Someone makes the hook's folder writable by a user group.
    chownSync(bin, 0, OTHER);
    chmodSync(bin, 0o775);
    const same = await e.apply(RO);
    expect(same).toMatchObject({ ok: false, changed: false, detail: { code: 'UNSAFE_PATH' } });
    expect(same.error).toMatch(/bin is group-writable \(gid 65534\)/);
    expect(same.applied).toMatch(/not run again/);
    expect((await e.check()).ok).toBe(false);
    // A restarted agent (fresh enforcer, same state file) refuses too.
    const restarted = createHookEnforcer({ name: 'hook', path: hook }, { dataDir: dir, platform: 'linux' });
    expect(await restarted.apply(RO)).toMatchObject({ ok: false });
    // A new target would run it: refused as well.
    expect(await restarted.apply(FULL)).toMatchObject({ ok: false, applied: 'unknown: hook not run' });
    // The hook file itself made group-writable (folder fixed): the same.
    chmodSync(bin, 0o755);
    chownSync(hook, 0, OTHER);
    chmodSync(hook, 0o775);
    expect(await restarted.apply(RO)).toMatchObject({ ok: false });
    expect(readFileSync(count, 'utf8')).toBe('run\n');

    // Fixed: the unchanged target is still not rerun.
    chownSync(hook, 0, 0);
    expect(await restarted.apply(RO)).toMatchObject({ ok: true, changed: false });
    expect(readFileSync(count, 'utf8')).toBe('run\n');
  });
});
