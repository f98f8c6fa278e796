// office-windows per person (issue 16) up to the process boundary: the
// recording fake reg.exe keeps a registry with two loaded hives (ann, who
// holds a user licence, and bob, who holds none), their Volatile Environment
// and ProfileList entries, so the exact reg command lines of every case are
// checked: per-user viewer mode, sign-out, the device becoming licensed, a
// SID that cannot be resolved, a per-user value changed by hand (drift), and
// a failing write that must not loosen anything.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICY_KEY, createOfficeWindowsEnforcer, userPolicyKey } from '../../agent/enforce/office-windows.ts';
import type { EnforcementTarget, UserMode } from '../../agent/enforce/types.ts';
import { calls, clearCalls, fakeExe, tempDir } from './helpers.ts';
import { Applier } from '../../agent/enforce/apply.ts';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger } from '../../shared/log.ts';

const ANN = 'S-1-5-21-1111-2222-3333-1001';
const BOB = 'S-1-12-1-4444-5555-6666-7777';
const PROFILES = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';
const ON = ['/t', 'REG_DWORD', '/d', '1', '/f', '/reg:64'];

type Reg = Record<string, { key: string; values: Record<string, { name: string; type: string; data: string }> }>;
const full = (k: string) => k.replace(/^HKLM\\/, 'HKEY_LOCAL_MACHINE\\').replace(/^HKU\\/, 'HKEY_USERS\\');
function put(reg: Reg, key: string, name: string, type: string, data: string): void {
  const k = full(key);
  reg[k.toUpperCase()] ??= { key: k, values: {} };
  reg[k.toUpperCase()].values[name.toLowerCase()] = { name, type, data };
}

function setup(opts: { bobProfile?: boolean } = {}) {
  const dir = tempDir();
  const reg = fakeExe(dir, 'reg.exe', 'fake-reg.mjs');
  const state: Reg = {};
  put(state, `HKU\\${ANN}\\Volatile Environment`, 'USERNAME', 'REG_SZ', 'ann');
  put(state, `HKU\\${ANN}\\Volatile Environment`, 'USERDOMAIN', 'REG_SZ', 'LAB-PC');
  put(state, `${PROFILES}\\${ANN}`, 'ProfileImagePath', 'REG_EXPAND_SZ', 'C:\\Users\\ann');
  put(state, `HKU\\${BOB}\\Volatile Environment`, 'USERNAME', 'REG_SZ', 'bob');
  put(state, `HKU\\${BOB}\\Volatile Environment`, 'USERDOMAIN', 'REG_SZ', 'AzureAD');
  if (opts.bobProfile !== false) put(state, `${PROFILES}\\${BOB}`, 'ProfileImagePath', 'REG_EXPAND_SZ', 'C:\\Users\\bob.AzureAD');
  const file = join(dir, 'registry.json');
  writeFileSync(file, JSON.stringify(state));
  const enforcer = createOfficeWindowsEnforcer({ name: 'office-windows', regExe: reg, method: 'policy' }, { platform: 'win32' });
  const read = () => JSON.parse(readFileSync(file, 'utf8')) as Reg;
  const value = (key: string, name: string) => read()[full(key).toUpperCase()]?.values[name]?.data;
  const edit = (f: (r: Reg) => void) => { const r = read(); f(r); writeFileSync(file, JSON.stringify(r)); };
  return { dir, enforcer, value, edit };
}

const um = (user: string, licence: UserMode['licence']): UserMode =>
  ({ user, licence, mode: licence ? 'full' : 'read-only', reason: licence ? 'ASSIGNED' : 'NOT_IN_LICENSED_GROUP' });
const ANN_USER_BOB_NONE: EnforcementTarget = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: ['ann', 'bob'], userModes: [um('ann', 'user'), um('bob', null)] };
const HIVE_QUERIES = (sid: string) => [
  ['query', `HKU\\${sid}\\Volatile Environment`, '/reg:64'],
  ['query', `${PROFILES}\\${sid}`, '/reg:64'],
  ['query', userPolicyKey(sid), '/reg:64'],
];

describe('office-windows per person', { timeout: 120_000 }, () => {
  it('a licensed and an unlicensed person: viewer mode in bob\'s hive only, then idempotent, then sign-out and an unreported person', async () => {
    const { dir, enforcer, value, edit } = setup();
    // Start from the machine-wide read-only devlic wrote before anyone held a user licence.
    edit((r) => { r[full(POLICY_KEY).toUpperCase()] = { key: full(POLICY_KEY), values: { viewermode: { name: 'viewermode', type: 'REG_DWORD', data: '1' } } }; });

    const r = await enforcer.apply(ANN_USER_BOB_NONE);
    expect(r).toMatchObject({ ok: true, changed: true, detail: { case: 'per-user', viewerModeSids: [BOB] } });
    expect(r.applied).toMatch(/^per user: .*viewer mode on in the per-user policy hive of S-1-12-1-/);
    // bob's viewer mode is on before the machine-wide one goes.
    expect(calls(dir)).toEqual([
      ['query', POLICY_KEY, '/reg:64'],
      ['query', 'HKU', '/reg:64'],
      ...HIVE_QUERIES(BOB),
      ...HIVE_QUERIES(ANN),
      ['add', userPolicyKey(BOB), '/v', 'viewermode', ...ON],
      ['delete', POLICY_KEY, '/v', 'viewermode', '/f', '/reg:64'],
    ]);
    expect(value(userPolicyKey(BOB), 'viewermode')).toBe('1');
    expect(value(userPolicyKey(ANN), 'viewermode')).toBeUndefined();
    expect(value(POLICY_KEY, 'viewermode')).toBeUndefined();
    expect((await enforcer.verify(ANN_USER_BOB_NONE)).drift).toEqual([]);
    clearCalls(dir);

    const again = await enforcer.apply(ANN_USER_BOB_NONE);
    expect(again).toMatchObject({ ok: true, changed: false });
    expect(calls(dir).every((c) => c[0] === 'query')).toBe(true);
    clearCalls(dir);

    // bob signs out but his hive is still loaded: it keeps viewer mode (default
    // deny: the session list can miss people), ann's stays clear, nothing is written.
    const annAlone: EnforcementTarget = { mode: 'full', reason: 'ASSIGNED', users: ['ann'], userModes: [um('ann', 'user')] };
    const out = await enforcer.apply(annAlone);
    expect(out).toMatchObject({ ok: true, changed: false, detail: { case: 'per-user', viewerModeSids: [BOB] } });
    expect(calls(dir).every((c) => c[0] === 'query')).toBe(true);
    // Device-based licensing stays off: ann activates with her own licence.
    expect(value(POLICY_KEY, 'dbsproplus')).toBeUndefined();
    clearCalls(dir);

    // Windows unloads bob's hive; another person the session list does not
    // report signs in (their hive loads): they get viewer mode too.
    const EVE = 'S-1-5-21-1111-2222-3333-1005';
    edit((r) => {
      for (const k of Object.keys(r)) if (k.includes(BOB)) delete r[k];
      put(r, `HKU\\${EVE}\\Volatile Environment`, 'USERNAME', 'REG_SZ', 'eve');
    });
    const withEve = await enforcer.apply(annAlone);
    expect(withEve).toMatchObject({ ok: true, changed: true, detail: { viewerModeSids: [EVE] } });
    expect(calls(dir).filter((c) => c[0] !== 'query')).toEqual([['add', userPolicyKey(EVE), '/v', 'viewermode', ...ON]]);
  });

  it('the device becomes licensed: per-user values removed, device-based licensing on; only the licensing keys are read', async () => {
    const { dir, enforcer, value } = setup();
    await enforcer.apply(ANN_USER_BOB_NONE);
    clearCalls(dir);
    const r = await enforcer.apply({ mode: 'full', reason: 'ASSIGNED', users: ['ann', 'bob'], userModes: [um('ann', 'device'), um('bob', 'device')] });
    expect(r).toMatchObject({ ok: true, changed: true, detail: { case: 'device' } });
    expect(calls(dir)).toEqual([
      ['query', POLICY_KEY, '/reg:64'],
      ['query', 'HKU', '/reg:64'],
      ['query', userPolicyKey(BOB), '/reg:64'],
      ['query', userPolicyKey(ANN), '/reg:64'],
      ['delete', userPolicyKey(BOB), '/v', 'viewermode', '/f', '/reg:64'],
      ['add', POLICY_KEY, '/v', 'dbsproplus', ...ON],
    ]);
    expect(value(userPolicyKey(BOB), 'viewermode')).toBeUndefined();
  });

  it('bob\'s SID cannot be resolved (no ProfileList entry): machine-wide read-only, and the result says why', async () => {
    const { dir, enforcer, value } = setup({ bobProfile: false });
    const r = await enforcer.apply(ANN_USER_BOB_NONE);
    expect(r).toMatchObject({ ok: true, changed: true, detail: { case: 'machine', unresolvedUsers: ['bob'], viewerModeSids: [] } });
    expect(r.applied).toMatch(/^read-only: .*machine-wide because no unique Windows account \(SID\) found for bob/);
    expect(calls(dir).filter((c) => c[0] !== 'query')).toEqual([['add', POLICY_KEY, '/v', 'viewermode', ...ON]]);
    expect(value(userPolicyKey(BOB), 'viewermode')).toBeUndefined();
  });

  it('a per-user value changed by hand is drift, and apply repairs it', async () => {
    const { enforcer, value, edit } = setup();
    await enforcer.apply(ANN_USER_BOB_NONE);
    edit((r) => { r[full(userPolicyKey(BOB)).toUpperCase()].values.viewermode.data = '0'; });
    expect((await enforcer.verify(ANN_USER_BOB_NONE)).drift).toEqual([`${userPolicyKey(BOB)}\\viewermode not set as wanted`]);
    expect(await enforcer.apply(ANN_USER_BOB_NONE)).toMatchObject({ ok: true, changed: true });
    expect(value(userPolicyKey(BOB), 'viewermode')).toBe('1');
    // A value put in ann's hive is drift too: she holds a licence.
    edit((r) => { r[full(userPolicyKey(ANN)).toUpperCase()] = { key: full(userPolicyKey(ANN)), values: { viewermode: { name: 'viewermode', type: 'REG_DWORD', data: '1' } } }; });
    expect((await enforcer.verify(ANN_USER_BOB_NONE)).drift).toEqual([`${userPolicyKey(ANN)}\\viewermode present`]);
  });

  it('when writing bob\'s value fails, the machine-wide viewer mode is not removed', async () => {
    const { dir, enforcer, value, edit } = setup();
    edit((r) => { r[full(POLICY_KEY).toUpperCase()] = { key: full(POLICY_KEY), values: { viewermode: { name: 'viewermode', type: 'REG_DWORD', data: '1' } } }; });
    writeFileSync(join(dir, 'fail-add'), '');
    const r = await enforcer.apply(ANN_USER_BOB_NONE);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/reg add HKU\\S-1-12-1-.*viewermode exited with code 1: ERROR: Access is denied\..*reg delete HKLM.*viewermode not run after the failure above/);
    expect(value(POLICY_KEY, 'viewermode')).toBe('1');
  });

  it('the agent\'s drift check (Applier.verify) finds a per-user value changed by hand and puts it back', async () => {
    const { enforcer, value, edit } = setup();
    const store = new Store(openDb(join(tempDir(), 'agent.db')));
    try {
      const ap = new Applier([enforcer], store, systemClock, silentLogger());
      await ap.apply({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' }, ['ann', 'bob'], { userModes: ANN_USER_BOB_NONE.userModes });
      expect(value(userPolicyKey(BOB), 'viewermode')).toBe('1');
      expect(await ap.verify('schedule')).toEqual([]);
      edit((r) => { delete r[full(userPolicyKey(BOB)).toUpperCase()].values.viewermode; });
      const repairs = await ap.verify('schedule');
      expect(repairs).toEqual([{ enforcer: 'office-windows', drift: [`${userPolicyKey(BOB)}\\viewermode not set as wanted`], ok: true, changed: true }]);
      expect(value(userPolicyKey(BOB), 'viewermode')).toBe('1');
      expect(store.events({}).filter((e) => e.type === 'drift-repaired')).toHaveLength(1);
    } finally {
      store.close();
    }
  });
});
