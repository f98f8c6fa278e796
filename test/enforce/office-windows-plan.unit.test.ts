// office-windows' pure planning (agent/enforce/office-windows-plan.ts):
// every mix of device licence, per-person licence, how each person's hive
// can be identified, a stray loaded hive and a signed-in account without a
// sign-in name, checked against the safety rules; then tables for the exact
// wants, the write order and SID resolution.
import { describe, expect, it } from 'vitest';
import {
  C2R_KEY, POLICY_KEY, licensingCase, orderWants, parseLoadedSids, planWindows, registryDrift, resolveSids, tightens, userPolicyKey,
  type HiveFacts, type Want,
} from '../../agent/enforce/office-windows-plan.ts';
import type { EnforcementTarget, UserMode } from '../../agent/enforce/types.ts';

const HIVE_STATES = ['ok', 'domain', 'missing', 'no-profile', 'wrong-folder', 'dup'] as const;
type HiveState = (typeof HIVE_STATES)[number];
const sidOf = (i: number) => `S-1-5-21-11-22-33-${1001 + i}`;
const STRAY_SID = 'S-1-12-1-5-6-7-8';

function* product<T>(choices: readonly T[], n: number): Generator<T[]> {
  if (n === 0) { yield []; return; }
  for (const rest of product(choices, n - 1)) for (const c of choices) yield [...rest, c];
}

function hivesFor(name: string, i: number, state: HiveState): HiveFacts[] {
  const sid = sidOf(i);
  const user = name.split('@')[0];
  switch (state) {
    case 'ok': return [{ sid, userName: user.toUpperCase(), userDomain: 'PC1', profilePath: `C:\\Users\\${user}` }];
    case 'domain': return [{ sid, userName: user, userDomain: 'CONTOSO', profilePath: `C:\\Users\\${user}.CONTOSO` }];
    case 'missing': return [];
    case 'no-profile': return [{ sid, userName: user }];
    // A person who edited their own Volatile Environment to pass as `name`.
    case 'wrong-folder': return [{ sid, userName: user, profilePath: 'C:\\Users\\mallory' }];
    case 'dup': return [
      { sid, userName: user, profilePath: `C:\\Users\\${user}` },
      { sid: `S-1-5-21-99-99-99-${1001 + i}`, userName: user, profilePath: `C:\\Users\\${user}.000` },
    ];
  }
}

const viewerOn = (wants: Want[], key: string) => wants.some((w) => w.key === key && w.name === 'viewermode' && w.value?.data === '1');
const dblOn = (wants: Want[]) => wants.some((w) => w.name !== 'viewermode' && w.value !== null);

describe('planWindows, every mix', () => {
  it('never turns device-based licensing on without the device licence, and covers everyone without a licence', () => {
    let cases = 0;
    const kinds = new Map<string, number>();
    for (const n of [0, 1, 2, 3]) {
      for (const deviceLicensed of [true, false]) {
        for (const licences of deviceLicensed ? [Array(n).fill('device')] : [...product(['user', 'none'], n)]) {
          for (const states of product(HIVE_STATES, n)) {
            for (const strayHive of [false, true]) {
              for (const refusedUser of [false, true]) {
                {
                  // The method does not interact with the people: one per case, in turn.
                  const method = (['both', 'policy', 'click-to-run'] as const)[cases++ % 3];
                  const names = Array.from({ length: n }, (_, i) => (states[i] === 'domain' ? `p${i}@contoso` : `p${i}`));
                  const userModes: UserMode[] = names.map((user, i) => ({
                    user, licence: licences[i] === 'none' ? null : licences[i], mode: licences[i] === 'none' ? 'read-only' : 'full',
                    reason: licences[i] === 'none' ? 'NOT_LICENSED' : 'ASSIGNED',
                  }));
                  const everyoneFull = userModes.every((u) => u.mode === 'full');
                  const mode = n === 0 || (refusedUser && !deviceLicensed) ? (deviceLicensed ? 'full' : 'read-only') : everyoneFull ? 'full' : 'read-only';
                  const target: EnforcementTarget = {
                    mode, reason: 'X', users: [...names.map((u) => u.replace(/^(\w+)@contoso$/, 'CONTOSO\\$1')), ...(refusedUser ? ['bad|name'] : [])],
                    ...(n ? { userModes } : {}),
                  };
                  const hives = names.flatMap((u, i) => hivesFor(u, i, states[i]));
                  if (strayHive) hives.push({ sid: STRAY_SID, userName: 'gone', profilePath: 'C:\\Users\\gone' });
                  const sids = [...new Set(hives.map((h) => h.sid))].sort();
                  const plan = planWindows({ target, method, prids: method === 'policy' ? [] : ['O365ProPlusRetail'], sids, hives });
                  const { wants } = plan;
                  kinds.set(plan.kind, (kinds.get(plan.kind) ?? 0) + 1);

                  // Device-based licensing only with the device licence.
                  expect(dblOn(wants)).toBe(deviceLicensed && plan.kind === 'device');
                  if (deviceLicensed) expect(plan.kind).toBe('device');
                  // Each person without a licence has viewer mode: machine-wide or in their own hive.
                  for (const [i, u] of userModes.entries()) {
                    if (u.mode === 'full') continue;
                    expect(viewerOn(wants, POLICY_KEY) || viewerOn(wants, userPolicyKey(sidOf(i)))).toBe(true);
                  }
                  // The per-user case only when every signed-in person is identified beyond doubt.
                  const someUserLicence = licences.includes('user');
                  const identified = states.every((s) => s === 'ok' || s === 'domain');
                  expect(plan.kind).toBe(deviceLicensed ? 'device' : someUserLicence && identified && !refusedUser ? 'per-user' : 'machine');
                  expect(viewerOn(wants, POLICY_KEY)).toBe(plan.kind === 'machine');
                  // Per-user values on every loaded hive but the licensed people's (default deny: the stray
                  // hive of someone the session list missed too), and only in the per-user case.
                  for (const sid of sids) {
                    const i = sid === STRAY_SID || sid.startsWith('S-1-5-21-99-') ? -1 : Number(sid.split('-').pop()) - 1001;
                    const want = wants.find((w) => w.key === userPolicyKey(sid));
                    const licensedPerson = i >= 0 && userModes[i].licence === 'user';
                    expect(want?.value).toEqual(plan.kind === 'per-user' && !licensedPerson ? { type: 'REG_DWORD', data: '1' } : null);
                  }
                  expect(wants.filter((w) => w.key.startsWith('HKU\\')).length).toBe(sids.length);
                  // Tightening writes all come before loosening ones.
                  const firstLoosening = wants.findIndex((w) => !tightens(w));
                  expect(firstLoosening === -1 || wants.slice(firstLoosening).every((w) => !tightens(w))).toBe(true);
                  if (plan.kind === 'machine' && someUserLicence && !refusedUser && !identified) expect(plan.unresolved.length).toBeGreaterThan(0);
                  expect(wants.some((w) => w.key === C2R_KEY)).toBe(method !== 'policy');
                  expect(wants.some((w) => w.name === 'dbsproplus')).toBe(method !== 'click-to-run');
                }
              }
            }
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(7_000);
    expect(Object.fromEntries(kinds)).toMatchObject({ device: expect.any(Number), machine: expect.any(Number), 'per-user': expect.any(Number) });
  });
});

describe('planWindows, exact wants', () => {
  const ann = sidOf(0);
  const bob = sidOf(1);
  const hives: HiveFacts[] = [
    { sid: ann, userName: 'ann', profilePath: 'C:\\Users\\ann' },
    { sid: bob, userName: 'bob', profilePath: 'C:\\Users\\bob' },
  ];
  const both = (annM: UserMode, bobM: UserMode, mode: 'full' | 'read-only'): EnforcementTarget => ({ mode, reason: 'X', users: ['ann', 'bob'], userModes: [annM, bobM] });
  const on = { type: 'REG_DWORD', data: '1' };

  it('ann with a user licence, bob without: viewer mode in bob\'s hive only, machine values off, bob tightened first', () => {
    const t = both({ user: 'ann', mode: 'full', licence: 'user', reason: 'ASSIGNED' }, { user: 'bob', mode: 'read-only', licence: null, reason: 'NOT_LICENSED' }, 'read-only');
    const p = planWindows({ target: t, method: 'both', prids: ['O365ProPlusRetail'], sids: [ann, bob], hives });
    expect(p.kind).toBe('per-user');
    expect(p.viewerSids).toEqual([bob]);
    expect(p.wants).toEqual([
      { key: userPolicyKey(bob), name: 'viewermode', value: on },
      { key: POLICY_KEY, name: 'dbsproplus', value: null },
      { key: C2R_KEY, name: 'O365ProPlusRetail.DeviceBasedLicensing', value: null },
      { key: POLICY_KEY, name: 'viewermode', value: null },
      { key: userPolicyKey(ann), name: 'viewermode', value: null },
    ]);
  });

  it('falls back to machine-wide read-only, naming the person, when a SID is not found', () => {
    const t = both({ user: 'ann', mode: 'full', licence: 'user', reason: 'ASSIGNED' }, { user: 'bob', mode: 'read-only', licence: null, reason: 'NOT_LICENSED' }, 'read-only');
    const p = planWindows({ target: t, method: 'policy', prids: [], sids: [ann], hives: hives.slice(0, 1) });
    expect(p).toMatchObject({ kind: 'machine', unresolved: ['bob'], viewerSids: [] });
    expect(p.fallback).toMatch(/bob/);
    expect(p.wants[0]).toEqual({ key: POLICY_KEY, name: 'viewermode', value: on });
    expect(p.wants).toContainEqual({ key: userPolicyKey(ann), name: 'viewermode', value: null });
  });

  it('a lone person with a user licence on an unlicensed device: nothing on, device-based licensing off', () => {
    const t: EnforcementTarget = { mode: 'full', reason: 'ASSIGNED', users: ['ann'], userModes: [{ user: 'ann', mode: 'full', licence: 'user', reason: 'ASSIGNED' }] };
    const p = planWindows({ target: t, method: 'policy', prids: [], sids: [ann], hives });
    expect(p.kind).toBe('per-user');
    expect(p.wants).toEqual([
      { key: POLICY_KEY, name: 'dbsproplus', value: null },
      { key: POLICY_KEY, name: 'viewermode', value: null },
      { key: userPolicyKey(ann), name: 'viewermode', value: null },
    ]);
  });
});

describe('helpers', () => {
  it('licensingCase reads the case from the target alone', () => {
    expect(licensingCase({ mode: 'full', reason: 'ASSIGNED', users: [] }).kind).toBe('device');
    expect(licensingCase({ mode: 'read-only', reason: 'NOT_LICENSED', users: ['ann'] }).kind).toBe('machine');
    const stray = licensingCase({ mode: 'full', reason: 'X', users: ['ann', 'eve'], userModes: [{ user: 'ann', mode: 'full', licence: 'user', reason: 'ASSIGNED' }] });
    expect(stray).toMatchObject({ kind: 'machine', why: expect.stringContaining('eve') });
  });

  it('resolveSids needs the ProfileList folder to match and exactly one claim', () => {
    const r = resolveSids(['ann', 'bob@contoso', 'cy', 'dee'], [
      { sid: 'S-1-5-21-1-1', userName: 'Ann', profilePath: 'C:\\Users\\ann.PC1' },
      { sid: 'S-1-5-21-1-2', userName: 'bob', userDomain: 'CONTOSO', profilePath: 'D:\\Profiles\\BOB' },
      { sid: 'S-1-5-21-1-3', userName: 'cy', profilePath: 'C:\\Users\\cyril' },
      { sid: 'S-1-5-21-1-4', userName: 'dee', profilePath: 'C:\\Users\\dee' },
      { sid: 'S-1-12-1-1-5', userName: 'dee', profilePath: 'C:\\Users\\dee.AzureAD' },
      // bob's own hive edited to pass as ann: its ProfileList folder gives it away.
      { sid: 'S-1-5-21-1-6', userName: 'ann', profilePath: 'C:\\Users\\bob' },
    ]);
    expect(Object.fromEntries(r.sids)).toEqual({ ann: 'S-1-5-21-1-1', 'bob@contoso': 'S-1-5-21-1-2' });
    expect(r.unresolved).toEqual(['cy', 'dee']);
  });

  it('parseLoadedSids keeps people\'s hives only', () => {
    const out = '\r\nHKEY_USERS\\.DEFAULT\r\nHKEY_USERS\\S-1-5-19\r\nHKEY_USERS\\S-1-5-18\r\nHKEY_USERS\\S-1-5-21-1-2-3-1001\r\n'
      + 'HKEY_USERS\\S-1-5-21-1-2-3-1001_Classes\r\nHKEY_USERS\\S-1-12-1-4-5-6-7\r\nHKEY_USERS\\S-1-5-21-1-2-3-1001\\Software\r\n\r\n';
    expect(parseLoadedSids(out)).toEqual(['S-1-12-1-4-5-6-7', 'S-1-5-21-1-2-3-1001']);
  });

  it('registryDrift sees a per-user value changed by hand', () => {
    const key = userPolicyKey('S-1-5-21-1-2-3-1001');
    const wants: Want[] = [{ key, name: 'viewermode', value: { type: 'REG_DWORD', data: '1' } }];
    expect(registryDrift(new Map([[key, new Map([['viewermode', { name: 'viewermode', type: 'REG_DWORD', data: '0x1' }]])]]), wants)).toEqual([]);
    expect(registryDrift(new Map([[key, new Map([['viewermode', { name: 'viewermode', type: 'REG_DWORD', data: '0x0' }]])]]), wants)).toEqual(wants);
    expect(registryDrift(new Map(), wants)).toEqual(wants);
  });

  it('orderWants puts every tightening write first', () => {
    const w = (key: string, name: string, on: boolean): Want => ({ key, name, value: on ? { type: 'REG_DWORD', data: '1' } : null });
    const u = userPolicyKey('S-1-5-21-1');
    const input = [w(POLICY_KEY, 'dbsproplus', true), w(u, 'viewermode', false), w(POLICY_KEY, 'viewermode', false), w(POLICY_KEY, 'dbsproplus', false), w(u, 'viewermode', true), w(POLICY_KEY, 'viewermode', true)];
    expect(orderWants(input)).toEqual([input[4], input[5], input[3], input[2], input[1], input[0]]);
  });
});
