// office-macos up to the process boundary, with a recording fake `defaults`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN, createOfficeMacosEnforcer } from '../../agent/enforce/office-macos.ts';
import { calls, clearCalls, fakeExe, tempDir } from './helpers.ts';

const RO = { mode: 'read-only' as const, reason: 'SUBSCRIPTION_EXPIRED', users: [] };
const FULL = { mode: 'full' as const, reason: 'ASSIGNED', users: ['bo'] };

function setup() {
  const dir = tempDir();
  const exe = fakeExe(dir, 'defaults', 'fake-defaults.mjs');
  const enforcer = createOfficeMacosEnforcer({ name: 'office-macos', defaultsExe: exe }, { platform: 'darwin' });
  const prefs = () => JSON.parse(readFileSync(join(dir, 'prefs.json'), 'utf8'));
  return { dir, exe, enforcer, prefs };
}

describe('office-macos', () => {
  it('publishes the mode with exactly these defaults commands', async () => {
    const { dir, enforcer, prefs } = setup();
    const r = await enforcer.apply(RO);
    expect(r).toMatchObject({ ok: true, changed: true });
    expect(calls(dir)).toEqual([
      ['read', DEFAULT_DOMAIN, 'Mode'],
      ['write', DEFAULT_DOMAIN, 'Mode', '-string', 'read-only'],
      ['read', DEFAULT_DOMAIN, 'Reason'],
      ['write', DEFAULT_DOMAIN, 'Reason', '-string', 'SUBSCRIPTION_EXPIRED'],
    ]);
    expect(prefs()).toEqual({ [DEFAULT_DOMAIN]: { Mode: 'read-only', Reason: 'SUBSCRIPTION_EXPIRED' } });
    clearCalls(dir);

    const f = await enforcer.apply(FULL);
    expect(f).toMatchObject({ ok: true, changed: true });
    expect(calls(dir).filter((c) => c[0] === 'write')).toEqual([
      ['write', DEFAULT_DOMAIN, 'Mode', '-string', 'full'],
      ['write', DEFAULT_DOMAIN, 'Reason', '-string', 'ASSIGNED'],
    ]);
  });

  it('says plainly that Microsoft Office itself is not switched', async () => {
    const { enforcer } = setup();
    const r = await enforcer.apply(RO);
    expect(r.applied).toContain('signal only');
    expect(r.applied).toContain('Office itself is not switched');
    expect(r.detail).toMatchObject({ enforcesMicrosoftOffice: false });
    expect((await enforcer.check()).message).toContain('signal only');
  });

  it('is idempotent: the same target again only reads', async () => {
    const { dir, enforcer } = setup();
    await enforcer.apply(FULL);
    clearCalls(dir);
    const again = await enforcer.apply(FULL);
    expect(again).toMatchObject({ ok: true, changed: false });
    expect(calls(dir).map((c) => c[0])).toEqual(['read', 'read']);
  });

  it('reports a failing defaults write', async () => {
    const { dir, enforcer } = setup();
    writeFileSync(join(dir, 'fail-write'), '');
    const r = await enforcer.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.changed).toBe(false);
    expect(r.error).toMatch(/defaults write .* Mode exited with code 1: Could not write domain/);
  });

  it('uses a configured domain and refuses to run off macOS', async () => {
    const { dir, exe } = setup();
    const other = createOfficeMacosEnforcer({ name: 'office-macos', defaultsExe: exe, domain: '/Library/Preferences/org.example.mode' }, { platform: 'darwin' });
    await other.apply(FULL);
    expect(calls(dir)[0]).toEqual(['read', '/Library/Preferences/org.example.mode', 'Mode']);
    clearCalls(dir);
    const linux = createOfficeMacosEnforcer({ name: 'office-macos', defaultsExe: exe }, { platform: 'linux' });
    expect((await linux.apply(FULL)).ok).toBe(false);
    expect((await linux.check()).ok).toBe(false);
    expect(calls(dir)).toEqual([]);
    expect((await createOfficeMacosEnforcer({ name: 'office-macos', defaultsExe: join(dir, 'missing') }, { platform: 'darwin' }).check()).ok).toBe(false);
    expect((await createOfficeMacosEnforcer({ name: 'office-macos', defaultsExe: exe }, { platform: 'darwin' }).check()).ok).toBe(true);
  });
});
