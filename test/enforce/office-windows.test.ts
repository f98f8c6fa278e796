// office-windows up to the process boundary: a recording fake reg.exe that
// keeps a small registry, so the exact argument lists, query-before-write
// idempotence and error reporting are all checked.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { C2R_KEY, POLICY_KEY, createOfficeWindowsEnforcer, parseRegQuery } from '../../agent/enforce/office-windows.ts';
import { calls, clearCalls, fakeExe, tempDir } from './helpers.ts';

const RO = { mode: 'read-only' as const, reason: 'NOT_IN_LICENSED_GROUP', users: ['ann'] };
const FULL = { mode: 'full' as const, reason: 'ASSIGNED', users: ['ann'] };

function setup(opts: { c2r?: string | null; method?: 'policy' | 'click-to-run' | 'both'; prids?: string[] } = {}) {
  const dir = tempDir();
  const reg = fakeExe(dir, 'reg.exe', 'fake-reg.mjs');
  if (opts.c2r !== null) {
    // An installed Microsoft 365 Apps: the Click-to-Run configuration key exists.
    const ids = opts.c2r ?? 'O365ProPlusRetail,VisioProRetail';
    writeFileSync(join(dir, 'registry.json'), JSON.stringify({
      [`HKEY_LOCAL_MACHINE\\SOFTWARE\\MICROSOFT\\OFFICE\\CLICKTORUN\\CONFIGURATION`]: {
        key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration',
        values: { productreleaseids: { name: 'ProductReleaseIds', type: 'REG_SZ', data: ids } },
      },
    }));
  }
  const enforcer = createOfficeWindowsEnforcer(
    { name: 'office-windows', regExe: reg, method: opts.method, productReleaseIds: opts.prids },
    { platform: 'win32' },
  );
  const registry = () => JSON.parse(readFileSync(join(dir, 'registry.json'), 'utf8')) as Record<string, { values: Record<string, { name: string; type: string; data: string }> }>;
  return { dir, reg, enforcer, registry };
}

describe('office-windows', () => {
  it('read-only then full runs exactly these reg commands', async () => {
    const { dir, enforcer, registry } = setup();

    const ro = await enforcer.apply(RO);
    expect(ro).toMatchObject({ ok: true, changed: true });
    expect(ro.applied).toContain('Use Viewer Mode policy on');
    // Nothing to delete yet: only the viewer-mode policy is written.
    // HKU: the loaded hives (none here) whose per-user values devlic would clear.
    expect(calls(dir)).toEqual([
      ['query', POLICY_KEY, '/reg:64'],
      ['query', C2R_KEY, '/reg:64'],
      ['query', 'HKU', '/reg:64'],
      ['add', POLICY_KEY, '/v', 'viewermode', '/t', 'REG_DWORD', '/d', '1', '/f', '/reg:64'],
    ]);
    clearCalls(dir);

    const full = await enforcer.apply(FULL);
    expect(full).toMatchObject({ ok: true, changed: true });
    expect(full.applied).toContain('device-based licensing on');
    expect(full.applied).toContain('O365ProPlusRetail.DeviceBasedLicensing');
    // The product id comes from ProductReleaseIds; VisioProRetail is not a
    // Microsoft 365 Apps product and gets no DeviceBasedLicensing value.
    expect(calls(dir)).toEqual([
      ['query', POLICY_KEY, '/reg:64'],
      ['query', C2R_KEY, '/reg:64'],
      ['query', 'HKU', '/reg:64'],
      ['delete', POLICY_KEY, '/v', 'viewermode', '/f', '/reg:64'],
      ['add', POLICY_KEY, '/v', 'dbsproplus', '/t', 'REG_DWORD', '/d', '1', '/f', '/reg:64'],
      ['add', C2R_KEY, '/v', 'O365ProPlusRetail.DeviceBasedLicensing', '/t', 'REG_SZ', '/d', '1', '/f', '/reg:64'],
    ]);
    const policy = registry()['HKEY_LOCAL_MACHINE\\SOFTWARE\\POLICIES\\MICROSOFT\\OFFICE\\16.0\\COMMON\\LICENSING'].values;
    expect(policy).toEqual({ dbsproplus: { name: 'dbsproplus', type: 'REG_DWORD', data: '1' } });
    clearCalls(dir);

    // And back: viewer mode on, both device-licensing values removed.
    const ro2 = await enforcer.apply(RO);
    expect(ro2).toMatchObject({ ok: true, changed: true });
    expect(calls(dir).slice(3)).toEqual([
      ['add', POLICY_KEY, '/v', 'viewermode', '/t', 'REG_DWORD', '/d', '1', '/f', '/reg:64'],
      ['delete', POLICY_KEY, '/v', 'dbsproplus', '/f', '/reg:64'],
      ['delete', C2R_KEY, '/v', 'O365ProPlusRetail.DeviceBasedLicensing', '/f', '/reg:64'],
    ]);
  });

  it('is idempotent: a second apply only queries', async () => {
    const { dir, enforcer } = setup();
    for (const target of [FULL, RO]) {
      expect((await enforcer.apply(target)).changed).toBe(true);
      clearCalls(dir);
      const again = await enforcer.apply(target);
      expect(again).toMatchObject({ ok: true, changed: false });
      expect(calls(dir).map((c) => c[0])).toEqual(['query', 'query', 'query']);
      clearCalls(dir);
    }
  });

  it('treats a value written as 0x1 by someone else as already set', async () => {
    const { dir, enforcer } = setup({ method: 'policy' });
    writeFileSync(join(dir, 'registry.json'), JSON.stringify({
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\POLICIES\\MICROSOFT\\OFFICE\\16.0\\COMMON\\LICENSING': {
        key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Office\\16.0\\Common\\Licensing',
        values: { viewermode: { name: 'ViewerMode', type: 'REG_DWORD', data: '1' } },
      },
    }));
    const r = await enforcer.apply(RO);
    expect(r).toMatchObject({ ok: true, changed: false });
    expect(calls(dir)).toEqual([['query', POLICY_KEY, '/reg:64'], ['query', 'HKU', '/reg:64']]);
    // Deleting uses the name as the registry spells it.
    await enforcer.apply(FULL);
    expect(calls(dir)).toContainEqual(['delete', POLICY_KEY, '/v', 'ViewerMode', '/f', '/reg:64']);
  });

  it('method policy never touches Click-to-Run; configured product ids win', async () => {
    const p = setup({ method: 'policy' });
    await p.enforcer.apply(FULL);
    expect(calls(p.dir).length).toBeGreaterThan(0);
    expect(calls(p.dir).some((x) => x.includes(C2R_KEY))).toBe(false);
    const c = setup({ method: 'click-to-run', prids: ['O365ProPlusEEANoTeamsRetail'] });
    await c.enforcer.apply(FULL);
    const writes = calls(c.dir).filter((x) => x[0] !== 'query');
    expect(writes).toEqual([
      ['add', C2R_KEY, '/v', 'O365ProPlusEEANoTeamsRetail.DeviceBasedLicensing', '/t', 'REG_SZ', '/d', '1', '/f', '/reg:64'],
    ]);
  });

  it('without Click-to-Run it sets the policy and says so', async () => {
    const { enforcer } = setup({ c2r: null });
    const r = await enforcer.apply(FULL);
    expect(r.ok).toBe(true);
    expect(r.applied).toContain('Click-to-Run not installed');
    expect(r.detail).toMatchObject({ clickToRunInstalled: false });
    expect((await enforcer.check()).ok).toBe(false);
  });

  it('reports reg failures with reg\'s message and ok=false', async () => {
    const { dir, enforcer } = setup();
    writeFileSync(join(dir, 'fail-add'), '');
    const r = await enforcer.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.changed).toBe(false);
    expect(r.error).toMatch(/reg add .*viewermode exited with code 1: ERROR: Access is denied\./);
  });

  it('reports a missing reg.exe and refuses to run off Windows', async () => {
    const dir = tempDir();
    const missing = createOfficeWindowsEnforcer({ name: 'office-windows', regExe: join(dir, 'nope.exe') }, { platform: 'win32' });
    const r = await missing.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/could not be started: ENOENT/);
    expect((await missing.check()).message).toMatch(/not found/);

    const { dir: d2, reg } = setup();
    const linux = createOfficeWindowsEnforcer({ name: 'office-windows', regExe: reg }, { platform: 'linux' });
    expect((await linux.apply(RO)).ok).toBe(false);
    expect((await linux.check()).ok).toBe(false);
    expect(calls(d2)).toEqual([]);
  });

  it('check passes with reg and Click-to-Run present', async () => {
    const { enforcer } = setup();
    const c = await enforcer.check();
    expect(c.ok).toBe(true);
    expect(c.message).toContain('O365ProPlusRetail');
  });

  it('parses reg query output', () => {
    const out = '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    viewermode    REG_DWORD    0x1\r\n    Empty    REG_SZ    \r\n    With Space    REG_SZ    a b\r\n\r\n';
    const m = parseRegQuery(out);
    expect(m.get('viewermode')).toEqual({ name: 'viewermode', type: 'REG_DWORD', data: '0x1' });
    expect(m.get('empty')?.data).toBe('');
    expect(m.get('with space')?.data).toBe('a b');
    expect(m.size).toBe(3);
  });
});
