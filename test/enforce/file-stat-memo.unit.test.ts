// The file enforcer's drift check skips reading a mode file whose stat has
// not changed since a read found it in sync (agent/enforce/stat-memo.ts).
// These tests attack that shortcut the way a root tool could: new content of
// the same size with the old mtime put back, a same-size file renamed over
// it; each must still be found and repaired. And the guards: a file too
// fresh to trust its ctime, a changed target, the hourly full read.
import { describe, expect, it } from 'vitest';
import { readFileSync, renameSync, statSync, utimesSync, writeFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { createFileEnforcer } from '../../agent/enforce/file.ts';
import { Applier } from '../../agent/enforce/apply.ts';
import { FRESH_MS, FULL_READ_MS, remember, statKey, unchangedSince } from '../../agent/enforce/stat-memo.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger } from '../../shared/log.ts';
import { tempDir } from '../helpers/processes.ts';
import { newStore, ro } from './drift-helpers.ts';

const target = { mode: 'read-only' as const, reason: ro.reason, users: ['bob'] };
/** A whole second: utimes can put it back exactly, as `touch -d` would any time. */
const T0 = 1_700_000_000;

/** Resolves once the clock has moved past the file's ctime tick (the kernel's times are coarse). */
async function pastCtimeTick(path: string): Promise<void> {
  const c = Number(statSync(path, { bigint: true }).ctimeNs / 1_000_000n);
  while (Date.now() <= c + 20) await new Promise((r) => setTimeout(r, 5));
}

async function setup(freshMs = 0) {
  const dir = tempDir('stat-memo');
  const path = join(dir, 'app-mode.json');
  const store = newStore();
  const fe = createFileEnforcer({ name: 'file', path }, { dataDir: dir, freshMs });
  const ap = new Applier([fe], store, systemClock, silentLogger());
  await ap.apply(ro, ['bob']);
  utimesSync(path, T0, T0);
  await pastCtimeTick(path);
  return { path, store, fe, ap };
}

describe('the file enforcer skips reading an unchanged mode file', () => {
  it('reads once, then trusts the stat while nothing changes', async () => {
    const { fe, store } = await setup();
    expect(await fe.verify(target)).toEqual({ enforcer: 'file', drift: [] });
    expect(await fe.verify(target)).toEqual({ enforcer: 'file', drift: [], unchanged: true });
    expect(await fe.verify(target)).toEqual({ enforcer: 'file', drift: [], unchanged: true });
    store.close();
  });

  it('new content of the same size with size and mtime put back is still caught (ctime moves) and repaired', async () => {
    const { path, fe, ap, store } = await setup();
    await fe.verify(target);
    const before = statSync(path, { bigint: true });
    const text = readFileSync(path, 'utf8');
    const forged = text.replace('"read-only"', '"full"     ');
    expect(forged).not.toBe(text);
    expect(forged.length).toBe(text.length);
    writeFileSync(path, forged);
    utimesSync(path, T0, T0);
    const after = statSync(path, { bigint: true });
    // The attack kept what it could: same inode, size and mtime.
    expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
    expect(after.ctimeNs).not.toBe(before.ctimeNs);
    const r = await ap.verify('schedule');
    expect(r).toEqual([expect.objectContaining({ enforcer: 'file', ok: true, changed: true, drift: [expect.stringMatching(/says full/)] })]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ mode: 'read-only' });
    store.close();
  });

  it('a same-size file with the same times renamed over it is caught (another inode)', async () => {
    const { path, fe, store } = await setup();
    await fe.verify(target);
    const forged = join(path, '..', 'forged.json');
    writeFileSync(forged, readFileSync(path, 'utf8').replace('"bob"', '"eve"'), { mode: 0o644 });
    utimesSync(forged, T0, T0);
    renameSync(forged, path);
    expect((await fe.verify(target)).drift).toEqual(['mode file users differ']);
    store.close();
  });

  it('another target is read again, not taken from the stat', async () => {
    const { fe, store } = await setup();
    await fe.verify(target);
    expect((await fe.verify({ ...target, users: ['alice'] })).drift).toEqual(['mode file users differ']);
    store.close();
  });

  it('a file written less than FRESH_MS ago is not trusted on its stat (its ctime tick may not be over)', async () => {
    const { fe, store } = await setup(FRESH_MS);
    // Just written by apply() and touched by utimes: its ctime is fresh.
    await fe.verify(target);
    expect((await fe.verify(target)).unchanged).toBeUndefined();
    store.close();
  });
});

describe('stat-memo', () => {
  const st = (over: Partial<BigIntStats> = {}) => ({
    dev: 1n, ino: 2n, size: 3n, mode: 0o100644n, uid: 0n, gid: 0n, nlink: 1n, mtimeNs: 10_000_000_000n, ctimeNs: 10_000_000_000n, ...over,
  }) as BigIntStats;
  const now = 20_000;
  it('remembers a read only when ctime is older than the freshness limit', () => {
    expect(remember(st(), 'w', 10_000 + FRESH_MS - 1)).toBeNull();
    expect(remember(st(), 'w', 10_000 + FRESH_MS)).toEqual({ key: statKey(st()), want: 'w', readAtMs: 10_000 + FRESH_MS });
  });
  it('skips only for the same stat, the same want, within the full-read interval', () => {
    const m = remember(st(), 'w', now)!;
    expect(unchangedSince(m, st(), 'w', now + 1)).toBe(true);
    expect(unchangedSince(m, st(), 'w', now + FULL_READ_MS)).toBe(false);
    expect(unchangedSince(m, st(), 'other', now + 1)).toBe(false);
    expect(unchangedSince(null, st(), 'w', now + 1)).toBe(false);
    expect(unchangedSince(m, null, 'w', now + 1)).toBe(false);
    for (const k of ['dev', 'ino', 'size', 'mode', 'uid', 'gid', 'nlink', 'mtimeNs', 'ctimeNs'] as const) {
      expect(unchangedSince(m, st({ [k]: 99n }), 'w', now + 1), k).toBe(false);
    }
  });
});
