// The drift check's pure comparisons, every case: files (exact, absent, the
// mode file), the LibreOffice layer, the hook's record, macOS defaults, the
// Windows registry, and the status report's enforcement field.
import { describe, expect, it } from 'vitest';
import {
  absentFileDrift, exactFileDrift, modeFileDrift, observeFile, ownerTrusted, parseModeFile, valuesDrift, type ObservedFile,
} from '../../agent/enforce/drift.ts';
import { layerDrift } from '../../agent/enforce/libreoffice.ts';
import { buildLayer, VIEWER_MODE_ITEM } from '../../agent/enforce/lo-layer.ts';
import { hookDrift } from '../../agent/enforce/hook.ts';
import { registryDrift, POLICY_KEY, type RegValue, type Want } from '../../agent/enforce/office-windows.ts';
import { enforcementHealth } from '../../agent/report/report.ts';
import { isValid } from '../../shared/validate.ts';
import { StatusReport } from '../../shared/schemas/device.ts';

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
