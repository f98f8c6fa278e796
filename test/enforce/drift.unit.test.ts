// The drift check: the pure comparisons (every case), the enforcers' verify()
// on real files in a temp dir, and the applier's repair pass (events, logging
// once, failing enforcers left to apply's retry). No processes.
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  absentFileDrift, exactFileDrift, modeFileDrift, observeFile, ownerTrusted, parseModeFile, valuesDrift, type ObservedFile,
} from '../../agent/enforce/drift.ts';
import { createLibreOfficeEnforcer, LAYER_FILE, layerDrift } from '../../agent/enforce/libreoffice.ts';
import { buildLayer, VIEWER_MODE_ITEM } from '../../agent/enforce/lo-layer.ts';
import { createFileEnforcer } from '../../agent/enforce/file.ts';
import { hookDrift } from '../../agent/enforce/hook.ts';
import { registryDrift, POLICY_KEY, type RegValue, type Want } from '../../agent/enforce/office-windows.ts';
import { enforcementHealth } from '../../agent/report/report.ts';
import { Applier } from '../../agent/enforce/apply.ts';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger, type Logger } from '../../shared/log.ts';
import { isValid } from '../../shared/validate.ts';
import { StatusReport } from '../../shared/schemas/device.ts';
import type { Enforcer, EnforcementTarget } from '../../agent/enforce/types.ts';
import type { Decision } from '../../agent/decision/decide.ts';
import { tempDir } from '../helpers/processes.ts';
import { writeFakeLibreOffice } from '../helpers/fake-libreoffice.ts';

const file = (over: Partial<ObservedFile> = {}): ObservedFile => ({ isFile: true, text: 'x', perm: 0o644, uid: 0, ...over });

describe('exactFileDrift / absentFileDrift', () => {
  it('is in sync only with the same text, permissions and a trusted owner', () => {
    expect(exactFileDrift('f', file(), 'x', 0o644, 0)).toEqual([]);
    expect(exactFileDrift('f', null, 'x', 0o644, 0)).toEqual(['f missing']);
    expect(exactFileDrift('f', file({ isFile: false, text: undefined }), 'x', 0o644, 0)).toEqual(['f is not a regular file']);
    expect(exactFileDrift('f', file({ text: 'y' }), 'x', 0o644, 0)).toEqual(['f content differs']);
    expect(exactFileDrift('f', file({ perm: 0o600 }), 'x', 0o644, 0)).toEqual(['f permissions 0600 (wanted 0644)']);
    expect(exactFileDrift('f', file({ perm: 0o4644 }), 'x', 0o644, 0)).toEqual(['f permissions 4644 (wanted 0644)']);
    expect(exactFileDrift('f', file({ uid: 1000 }), 'x', 0o644, 0)).toEqual(['f owned by uid 1000, not root']);
    // Everything wrong at once: each difference is named.
    expect(exactFileDrift('f', file({ text: '', perm: 0o666, uid: 7 }), 'x', 0o644, 0)).toHaveLength(3);
  });

  it('trusts root, the agent itself, and anyone where there are no uids', () => {
    expect(ownerTrusted(0, 1000)).toBe(true);
    expect(ownerTrusted(1000, 1000)).toBe(true);
    expect(ownerTrusted(1001, 1000)).toBe(false);
    expect(ownerTrusted(1001, undefined)).toBe(true);
    expect(exactFileDrift('f', file({ uid: 1000 }), 'x', 0o644, 1000)).toEqual([]);
    // Windows: no uids and no real permission bits; the content still counts.
    expect(exactFileDrift('f', file({ uid: 0, perm: 0o666 }), 'x', 0o644, undefined)).toEqual([]);
    expect(exactFileDrift('f', file({ text: 'y', perm: 0o666 }), 'x', 0o644, undefined)).toEqual(['f content differs']);
  });

  it('wants nothing at all at an absent path, a symlink neither', () => {
    expect(absentFileDrift('f', null)).toEqual([]);
    expect(absentFileDrift('f', file())).toEqual(['f present']);
    expect(absentFileDrift('f', file({ isFile: false }))).toEqual(['f present']);
  });

  it('observeFile keeps the permission bits and the kind', () => {
    const st = { mode: 0o100644, uid: 0, isFile: () => true };
    expect(observeFile({ text: 'a', st })).toEqual({ isFile: true, text: 'a', perm: 0o644, uid: 0 });
    expect(observeFile({ st: { mode: 0o120777, uid: 5, isFile: () => false } })).toEqual({ isFile: false, text: undefined, perm: 0o777, uid: 5 });
    expect(observeFile(undefined)).toBeNull();
  });
});

describe('modeFileDrift', () => {
  const want = { mode: 'read-only' as const, reason: 'NOT_IN_LICENSED_GROUP', users: ['alice', 'bob'] };
  const doc = (o: Record<string, unknown> = {}) => JSON.stringify({ ...want, at: '2030-01-01T00:00:00Z', ...o });

  it('compares by meaning: the time it was written does not matter', () => {
    expect(modeFileDrift(file({ text: doc() }), want, 0o644, 0)).toEqual([]);
    expect(modeFileDrift(file({ text: doc({ at: '2031-05-05T00:00:00Z' }) }), want, 0o644, 0)).toEqual([]);
  });

  it('names each difference', () => {
    expect(modeFileDrift(null, want, 0o644, 0)).toEqual(['mode file missing']);
    expect(modeFileDrift(file({ isFile: false }), want, 0o644, 0)).toEqual(['mode file is not a regular file']);
    expect(modeFileDrift(file({ text: 'not json' }), want, 0o644, 0)).toEqual(['mode file unreadable']);
    expect(modeFileDrift(file({ text: doc({ mode: 'full' }) }), want, 0o644, 0)).toEqual(['mode file says full (wanted read-only)']);
    expect(modeFileDrift(file({ text: doc({ reason: 'ASSIGNED' }) }), want, 0o644, 0)).toEqual(['mode file reason ASSIGNED (wanted NOT_IN_LICENSED_GROUP)']);
    expect(modeFileDrift(file({ text: doc({ users: ['alice'] }) }), want, 0o644, 0)).toEqual(['mode file users differ']);
    expect(modeFileDrift(file({ text: doc({ users: ['bob', 'alice'] }) }), want, 0o644, 0)).toEqual(['mode file users differ']);
    expect(modeFileDrift(file({ text: doc(), perm: 0o600 }), want, 0o644, 0)).toEqual(['mode file permissions 0600 (wanted 0644)']);
    expect(modeFileDrift(file({ text: doc(), uid: 1000 }), want, 0o644, 0)).toEqual(['mode file owned by uid 1000, not root']);
    expect(modeFileDrift(file({ text: doc({ mode: 'full' }), perm: 0o600 }), want, 0o644, 0)).toHaveLength(2);
  });

  it('parseModeFile accepts only the shape the enforcer writes', () => {
    expect(parseModeFile(undefined)).toBeUndefined();
    expect(parseModeFile('[]')).toBeUndefined();
    expect(parseModeFile(doc({ mode: 'viewer' }))).toBeUndefined();
    expect(parseModeFile(doc({ users: [1] }))).toBeUndefined();
    expect(parseModeFile(doc({ reason: null }))).toBeUndefined();
    expect(parseModeFile(JSON.stringify({ ...want }))).toBeUndefined(); // no `at`
    expect(parseModeFile(doc())).toMatchObject(want);
  });
});

describe('layerDrift (LibreOffice)', () => {
  const layer = buildLayer([VIEWER_MODE_ITEM]);
  it('read-only wants our exact layer, 0644, root-owned; full wants none', () => {
    expect(layerDrift('read-only', file({ text: layer }), 0)).toEqual([]);
    expect(layerDrift('read-only', null, 0)).toEqual(['viewer-mode layer missing']);
    expect(layerDrift('read-only', file({ text: layer, perm: 0o600 }), 0)).toEqual(['viewer-mode layer permissions 0600 (wanted 0644)']);
    expect(layerDrift('read-only', file({ text: layer.replace('true', 'false') }), 0)).toEqual(['viewer-mode layer content differs']);
    expect(layerDrift('read-only', file({ isFile: false }), 0)).toEqual(['viewer-mode layer is not a regular file']);
    expect(layerDrift('full', null, 0)).toEqual([]);
    expect(layerDrift('full', file({ text: layer }), 0)).toEqual(['viewer-mode layer present']);
  });
});

describe('hookDrift, valuesDrift, registryDrift', () => {
  it('hook: its record of the last run must be for this target', () => {
    expect(hookDrift('{"mode":"full"}\n', '{"mode":"full"}')).toEqual([]);
    expect(hookDrift(undefined, '{"mode":"full"}')).toEqual(['no record of the hook running for this mode']);
    expect(hookDrift('{"mode":"read-only"}', '{"mode":"full"}')).toEqual(['the hook last ran for another mode']);
  });

  it('macOS defaults: missing and different values', () => {
    const want = [['Mode', 'read-only'], ['Reason', 'REVOKED']] as const;
    expect(valuesDrift('d', new Map([['Mode', 'read-only'], ['Reason', 'REVOKED']]), want)).toEqual([]);
    expect(valuesDrift('d', new Map([['Mode', 'full']]), want)).toEqual(['d Mode is "full" (wanted "read-only")', 'd Reason missing']);
  });

  it('registry: types, DWORD in hex or decimal, case-insensitive names, values that must be gone', () => {
    const v = (name: string, type: string, data: string): [string, RegValue] => [name.toLowerCase(), { name, type, data }];
    const wants: Want[] = [
      { key: POLICY_KEY, name: 'viewermode', value: { type: 'REG_DWORD', data: '1' } },
      { key: POLICY_KEY, name: 'dbsproplus', value: null },
    ];
    const cur = (...vals: [string, RegValue][]) => new Map([[POLICY_KEY, new Map(vals)]]);
    expect(registryDrift(cur(v('ViewerMode', 'REG_DWORD', '0x1')), wants)).toEqual([]);
    expect(registryDrift(cur(v('viewermode', 'REG_DWORD', '1')), wants)).toEqual([]);
    expect(registryDrift(cur(v('viewermode', 'REG_DWORD', '0x0')), wants).map((w) => w.name)).toEqual(['viewermode']);
    expect(registryDrift(cur(v('viewermode', 'REG_SZ', '1')), wants).map((w) => w.name)).toEqual(['viewermode']);
    expect(registryDrift(cur(), wants).map((w) => w.name)).toEqual(['viewermode']);
    expect(registryDrift(cur(v('viewermode', 'REG_DWORD', '0x1'), v('dbsproplus', 'REG_DWORD', '0x1')), wants).map((w) => w.name)).toEqual(['dbsproplus']);
    expect(registryDrift(new Map(), wants).map((w) => w.name)).toEqual(['viewermode']);
  });
});

describe('enforcementHealth (the status report field)', () => {
  it('says ok, or not ok with the first line of the error, cleaned to what the service accepts', () => {
    const h = enforcementHealth([
      { enforcer: 'file', ok: true, error: null },
      { enforcer: 'libreoffice', ok: false, error: 'LibreOffice 7.4 does not have ViewerAppMode\nsecond line' },
      { enforcer: 'hook', ok: false, error: `bad\u0007 ${'x'.repeat(400)}` },
      { enforcer: 'office-windows', ok: false, error: null },
    ]);
    expect(h[0]).toEqual({ enforcer: 'file', ok: true });
    expect(h[1]).toEqual({ enforcer: 'libreoffice', ok: false, reason: 'LibreOffice 7.4 does not have ViewerAppMode' });
    expect(h[2].reason).toHaveLength(300);
    expect(h[2].reason).not.toMatch(/\u0007/);
    expect(h[3]).toEqual({ enforcer: 'office-windows', ok: false, reason: 'failed' });
    const report = { mode: 'full', reason: 'ASSIGNED', users: [], agentVersion: '1', lastError: null, cacheExpiresAt: null, entitlementSeq: 1 };
    expect(isValid(StatusReport, { ...report, enforcement: h })).toBe(true);
    // An older agent's report, without the field, stays valid.
    expect(isValid(StatusReport, report)).toBe(true);
    expect(isValid(StatusReport, { ...report, enforcement: [{ enforcer: 'file', ok: 'yes' }] })).toBe(false);
  });
});

// ---- the repair pass ---------------------------------------------------------

const ro: Decision = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' };
const full: Decision = { mode: 'full', reason: 'ASSIGNED' };

function capturingLogger(): { log: Logger; lines: () => Array<{ level: number; msg: string; enforcer?: string; event?: string }> } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { out.push(String(chunk)); cb(); } }));
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

/** An enforcer whose state is a variable the test can change behind its back. */
function stateful(name: string, opts: { failApply?: () => string | null; changes?: () => boolean } = {}) {
  let state: string | null = null;
  const applied: EnforcementTarget[] = [];
  const e: Enforcer = {
    name,
    async apply(t) {
      applied.push(t);
      const err = opts.failApply?.() ?? null;
      if (err) return { enforcer: name, ok: false, changed: false, applied: 'nothing', error: err };
      const changed = opts.changes ? opts.changes() : state !== t.mode;
      if (changed) state = t.mode;
      return { enforcer: name, ok: true, changed, applied: t.mode };
    },
    async check() { return { enforcer: name, ok: true, message: '' }; },
    async verify(t) { return { enforcer: name, drift: state === t.mode ? [] : [`state is ${state}`] }; },
  };
  return { e, applied, set: (s: string | null) => { state = s; } };
}

const newStore = () => new Store(openDb(join(tempDir('drift'), 'agent.db')));

describe('Applier.verify', () => {
  it('does nothing before the first decision or while everything holds', async () => {
    const store = newStore();
    const a = stateful('a');
    const ap = new Applier([a.e], store, systemClock, silentLogger());
    expect(await ap.verify('schedule')).toEqual([]);
    await ap.apply(ro, []);
    expect(await ap.verify('schedule')).toEqual([]);
    expect(a.applied).toHaveLength(1);
    expect(store.events({}).filter((x) => x.type === 'drift-repaired')).toHaveLength(0);
    store.close();
  });

  it('applies the mode again where it drifted, logs drift-repaired with what drifted, touches nothing else', async () => {
    const store = newStore();
    const a = stateful('a');
    const b = stateful('b');
    const { log, lines } = capturingLogger();
    const ap = new Applier([a.e, b.e], store, systemClock, log);
    await ap.apply(ro, ['alice']);
    a.set(null); // deleted behind the agent's back
    const r = await ap.verify('refresh');
    expect(r).toEqual([{ enforcer: 'a', drift: ['state is null'], ok: true, changed: true }]);
    expect(a.applied.at(-1)).toEqual({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: ['alice'] });
    expect(b.applied).toHaveLength(1);
    const ev = store.events({}).filter((x) => x.type === 'drift-repaired');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ reason: 'NOT_IN_LICENSED_GROUP', fields: { enforcer: 'a', drift: ['state is null'], mode: 'read-only', cause: 'refresh' } });
    expect(lines().filter((l) => l.event === 'drift-repaired' && l.level === 40)).toHaveLength(1);
    expect(store.lastEvent('drift-repaired')?.id).toBe(ev[0].id);
    // Repaired: the next pass finds nothing.
    expect(await ap.verify('schedule')).toEqual([]);
    store.close();
  });

  it('a repair that fails is an ENFORCER_FAILED error; apply retries that enforcer, the drift check leaves it alone', async () => {
    const store = newStore();
    let fail: string | null = null;
    const a = stateful('a', { failApply: () => fail });
    const ap = new Applier([a.e], store, systemClock, silentLogger());
    await ap.apply(ro, []);
    a.set('full');
    fail = 'read-only file system';
    expect(await ap.verify('schedule')).toEqual([{ enforcer: 'a', drift: ['state is full'], ok: false, changed: false, error: 'read-only file system' }]);
    expect(store.getApplied()[0]).toMatchObject({ ok: false, error: 'read-only file system' });
    expect(await ap.verify('schedule')).toEqual([]); // failing: apply's retry owns it
    const errors = store.events({}).filter((x) => x.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].fields).toMatchObject({ enforcer: 'a', drift: ['state is full'] });
    fail = null;
    await ap.apply(ro, []); // the minute's retry
    expect(store.getApplied()[0].ok).toBe(true);
    expect(await ap.verify('schedule')).toEqual([]);
    store.close();
  });

  it('drift that applying does not clear is logged once, then at debug while it stays the same', async () => {
    const store = newStore();
    let stuck = false;
    const a = stateful('a', { changes: () => !stuck });
    const { log, lines } = capturingLogger();
    const ap = new Applier([a.e], store, systemClock, log);
    await ap.apply(full, []);
    a.set('read-only');
    stuck = true;
    for (let i = 0; i < 4; i++) await ap.verify('schedule');
    expect(store.events({}).filter((x) => x.type === 'drift-repaired')).toHaveLength(1);
    const drift = lines().filter((l) => l.enforcer === 'a' && l.event === 'drift-repaired');
    expect(drift.filter((l) => l.level === 40)).toHaveLength(1);
    expect(drift.filter((l) => l.level === 20)).toHaveLength(3);
    store.close();
  });

  it('only the failing enforcer is retried while the target stays the same', async () => {
    const store = newStore();
    let fail: string | null = 'disk full';
    const bad = stateful('bad', { failApply: () => fail });
    const good = stateful('good');
    const ap = new Applier([bad.e, good.e], store, systemClock, silentLogger());
    await ap.apply(ro, []);
    await ap.apply(ro, []);
    expect(bad.applied).toHaveLength(2);
    expect(good.applied).toHaveLength(1);
    expect(store.getApplied().map((x) => [x.enforcer, x.ok])).toEqual([['bad', false], ['good', true]]);
    fail = null;
    await ap.apply(ro, []);
    expect(store.getApplied().map((x) => [x.enforcer, x.ok])).toEqual([['bad', true], ['good', true]]);
    store.close();
  });
});

describe('the real enforcers drift and are repaired', () => {
  it('file: mode file deleted, made 0600, edited, replaced by a symlink', async () => {
    const dir = tempDir('drift-file');
    const path = join(dir, 'app-mode.json');
    const store = newStore();
    const fe = createFileEnforcer({ name: 'file', path }, { dataDir: dir });
    const ap = new Applier([fe], store, systemClock, silentLogger());
    await ap.apply(ro, ['bob']);
    const target = { mode: 'read-only' as const, reason: ro.reason, users: ['bob'] };
    expect((await fe.verify(target)).drift).toEqual([]);
    const breakIt: Array<[string, () => void, RegExp]> = [
      ['deleted', () => rmSync(path), /missing/],
      ['0600', () => chmodSync(path, 0o600), /permissions 0600/],
      ['edited', () => writeFileSync(path, readFileSync(path, 'utf8').replace('read-only', 'full')), /says full/],
      ['symlink', () => { rmSync(path); symlinkSync('/etc/hostname', path); }, /not a regular file/],
    ];
    for (const [what, act, re] of breakIt) {
      act();
      const r = await ap.verify('schedule');
      expect(r, what).toEqual([expect.objectContaining({ enforcer: 'file', ok: true, changed: true, drift: [expect.stringMatching(re)] })]);
      expect((await fe.verify(target)).drift, what).toEqual([]);
      expect(statSync(path).mode & 0o777).toBe(0o644);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ mode: 'read-only', users: ['bob'] });
    }
    expect(store.events({}).filter((x) => x.type === 'drift-repaired')).toHaveLength(4);
    store.close();
  });

  it('libreoffice: layer deleted or made 0600 while read-only, a layer planted while full, a new install', async () => {
    const root = join(tempDir('drift-lo'), 'libreoffice');
    const registry = join(root, 'share', 'registry');
    const install = () => writeFakeLibreOffice(root);
    install();
    const layer = join(registry, LAYER_FILE);
    const lo = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    const store = newStore();
    const ap = new Applier([lo], store, systemClock, silentLogger());
    await ap.apply(ro, []);
    expect(store.getApplied()[0].ok).toBe(true);
    expect(await ap.verify('schedule')).toEqual([]);

    rmSync(layer);
    expect((await ap.verify('schedule'))[0]).toMatchObject({ ok: true, changed: true, drift: [`viewer-mode layer missing in ${registry}`] });
    expect(readFileSync(layer, 'utf8')).toBe(buildLayer([VIEWER_MODE_ITEM]));

    chmodSync(layer, 0o600); // LibreOffice aborts for users on an unreadable layer
    expect((await ap.verify('schedule'))[0].drift).toEqual([`viewer-mode layer permissions 0600 (wanted 0644) in ${registry}`]);
    expect(statSync(layer).mode & 0o777).toBe(0o644);

    // The install removed and installed again (an upgrade): the new registry gets the layer.
    rmSync(root, { recursive: true });
    install();
    expect((await ap.verify('schedule'))[0]).toMatchObject({ ok: true, drift: [`viewer-mode layer missing in ${registry}`] });
    expect(statSync(layer).mode & 0o777).toBe(0o644);

    // Replaced by a LibreOffice without ViewerAppMode: the layer is fine, read-only is not.
    writeFakeLibreOffice(root, { version: '7.4.7.2', viewerMode: false });
    expect((await ap.verify('schedule'))[0]).toMatchObject({ ok: false, drift: [`LibreOffice 7.4.7.2 cannot honour the layer in ${registry}`] });
    expect(store.getApplied()[0]).toMatchObject({ ok: false, error: expect.stringMatching(/7\.4\.7\.2 does not have/) });
    install();

    await ap.apply(full, []);
    writeFileSync(layer, buildLayer([VIEWER_MODE_ITEM]), { mode: 0o644 });
    expect((await ap.verify('schedule'))[0].drift).toEqual([`viewer-mode layer present in ${registry}`]);
    expect(() => statSync(layer)).toThrow();
    expect(store.events({}).filter((x) => x.type === 'drift-repaired').map((x) => x.fields!.mode)).toEqual(['read-only', 'read-only', 'read-only', 'full']);
    store.close();
  });

  it('libreoffice with two installs: drift in either one is seen and repaired, the other left as it is', async () => {
    const base = tempDir('drift-lo-two');
    const roots = ['debian', 'tdf'].map((n) => join(base, n));
    const registries = roots.map((r) => join(r, 'share', 'registry'));
    for (const r of roots) writeFakeLibreOffice(r);
    const lo = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: roots }, { platform: 'linux' });
    const store = newStore();
    const ap = new Applier([lo], store, systemClock, silentLogger());
    await ap.apply(ro, []);
    expect(store.getApplied()[0].ok).toBe(true);
    expect(await ap.verify('schedule')).toEqual([]);

    // The second install's layer deleted: only it drifted, and it is written again.
    const first = statSync(join(registries[0], LAYER_FILE)).mtimeMs;
    rmSync(join(registries[1], LAYER_FILE));
    expect((await ap.verify('schedule'))[0]).toMatchObject({ ok: true, drift: [`viewer-mode layer missing in ${registries[1]}`] });
    expect(statSync(join(registries[1], LAYER_FILE)).mode & 0o777).toBe(0o644);
    expect(statSync(join(registries[0], LAYER_FILE)).mtimeMs).toBe(first);

    // Both drifted at once: both named in one repair.
    rmSync(join(registries[0], LAYER_FILE));
    chmodSync(join(registries[1], LAYER_FILE), 0o600);
    expect((await ap.verify('schedule'))[0].drift).toEqual([
      `viewer-mode layer missing in ${registries[0]}`,
      `viewer-mode layer permissions 0600 (wanted 0644) in ${registries[1]}`,
    ]);
    for (const reg of registries) expect(statSync(join(reg, LAYER_FILE)).mode & 0o777).toBe(0o644);
    store.close();
  });

  it('libreoffice installed while the device is read-only: the next pass enforces it', async () => {
    const root = join(tempDir('drift-lo-new'), 'libreoffice');
    const registry = join(root, 'share', 'registry');
    const lo = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    const store = newStore();
    const ap = new Applier([lo, stateful('file').e], store, systemClock, silentLogger());
    await ap.apply(ro, []);
    expect(store.getApplied().find((a) => a.enforcer === 'libreoffice')).toMatchObject({ ok: false, error: expect.stringMatching(/no LibreOffice registry/) });
    expect(await ap.verify('schedule')).toEqual([]); // not installed: nothing to read back, apply's retry owns it
    mkdirSync(registry, { recursive: true });
    writeFakeLibreOffice(root);
    await ap.apply(ro, []); // the minute's pass: same target, the failing enforcer is retried
    expect(store.getApplied().find((a) => a.enforcer === 'libreoffice')).toMatchObject({ ok: true });
    expect(statSync(join(registry, LAYER_FILE)).mode & 0o777).toBe(0o644);
    store.close();
  });
});
