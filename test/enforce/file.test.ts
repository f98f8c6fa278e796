// The file enforcer against a real temp dir.
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
});
