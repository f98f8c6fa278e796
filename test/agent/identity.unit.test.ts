// Identity normalisation: junk hardware values, machine-id hashing, the
// persisted fallback id, and injectable sources.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  factsFromRaw, hashMachineId, identitySourceFromEnv, normaliseHardwareUuid, normaliseText, persistedFallbackId, usableMachineId,
  type RawIdentity,
} from '../../agent/host/identity.ts';
import { DeviceFacts } from '../../shared/schemas/device.ts';
import { isValid } from '../../shared/validate.ts';
import { tempDir } from '../helpers/processes.ts';

const raw = (over: Partial<RawIdentity> = {}): RawIdentity => ({
  machineId: '3d1219c7c4c5404aaa1f6d2a48adfda4', manufacturer: 'LENOVO', model: '20S0', serial: 'PF2ABCDE',
  hardwareUuid: '4C4C4544-0042-3510-8050-B4C04F4E3132', os: 'Debian GNU/Linux 12', hostname: 'lab-01', ...over,
});
const noFallback = () => { throw new Error('fallback must not be used'); };

describe('hardware UUID normalisation', () => {
  it.each([
    '', '   ', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
    '03000200-0400-0500-0006-000700080009', '03000200-0400-0500-0006-000700080009'.toUpperCase(),
    '11111111-1111-1111-1111-111111111111', 'Default string', 'To be filled by O.E.M.', 'Not Settable', 'Not Specified', 'None', '-',
    'not-a-uuid-at-all!', 'System Serial Number',
  ])('turns junk %j into an empty value', (v) => {
    expect(normaliseHardwareUuid(v)).toBe('');
  });

  it('keeps a real UUID, lower-cased and trimmed', () => {
    expect(normaliseHardwareUuid(' 4C4C4544-0042-3510-8050-B4C04F4E3132\n')).toBe('4c4c4544-0042-3510-8050-b4c04f4e3132');
  });

  it('handles null/undefined', () => {
    expect(normaliseHardwareUuid(null)).toBe('');
    expect(normaliseHardwareUuid(undefined)).toBe('');
  });
});

describe('text facts', () => {
  it('drops junk and control characters and bounds the length', () => {
    expect(normaliseText('To be filled by O.E.M.')).toBe('');
    expect(normaliseText('-')).toBe('');
    expect(normaliseText(' LENOVO\u0000\n')).toBe('LENOVO');
    expect(normaliseText('x'.repeat(300))).toHaveLength(128);
  });
});

describe('machine id', () => {
  it('hashes with a devlic-specific prefix (not the plain sha256 other software uses)', () => {
    const h = hashMachineId('abc');
    expect(h).toMatch(/^[a-f0-9]{64}$/);
    expect(h).not.toBe(createHash('sha256').update('abc').digest('hex'));
    expect(hashMachineId('abc')).toBe(h);
  });

  it('rejects empty and placeholder ids', () => {
    expect(usableMachineId('')).toBeNull();
    expect(usableMachineId(null)).toBeNull();
    expect(usableMachineId('00000000000000000000000000000000')).toBeNull();
    expect(usableMachineId('short')).toBeNull();
    expect(usableMachineId('3D1219C7C4C5404AAA1F6D2A48ADFDA4')).toBe('3d1219c7c4c5404aaa1f6d2a48adfda4');
  });
});

describe('factsFromRaw', () => {
  it('produces facts that satisfy the wire schema', () => {
    const f = factsFromRaw(raw(), noFallback);
    expect(isValid(DeviceFacts, f)).toBe(true);
    expect(f).toMatchObject({ hardwareUuid: '4c4c4544-0042-3510-8050-b4c04f4e3132', hostname: 'lab-01', serial: 'PF2ABCDE' });
  });

  it('keeps two VMs with the same junk UUID apart by their machine ids', () => {
    const a = factsFromRaw(raw({ machineId: 'aaaaaaaa1111', hardwareUuid: '03000200-0400-0500-0006-000700080009' }), noFallback);
    const b = factsFromRaw(raw({ machineId: 'bbbbbbbb2222', hardwareUuid: '03000200-0400-0500-0006-000700080009' }), noFallback);
    expect(a.hardwareUuid).toBe('');
    expect(b.hardwareUuid).toBe('');
    expect(a.machineIdHash).not.toBe(b.machineIdHash);
  });

  it('gives the same facts for the same machine every time (no split)', () => {
    expect(factsFromRaw(raw(), noFallback)).toEqual(factsFromRaw(raw({ hardwareUuid: '4c4c4544-0042-3510-8050-b4c04f4e3132 ' }), noFallback));
  });

  it('uses the persisted fallback id when the platform has no machine id, and the same one next time', () => {
    const dir = tempDir('ident');
    const file = join(dir, 'machine-id');
    const fb = persistedFallbackId(file);
    const a = factsFromRaw(raw({ machineId: null }), fb);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const b = factsFromRaw(raw({ machineId: '' }), persistedFallbackId(file));
    expect(b.machineIdHash).toBe(a.machineIdHash);
    expect(a.machineIdHash).toBe(hashMachineId(readFileSync(file, 'utf8').trim()));
  });

  it('fills a missing hostname so the schema holds', () => {
    expect(factsFromRaw(raw({ hostname: '' }), noFallback).hostname).toBe('unknown-host');
  });
});

describe('identitySourceFromEnv (test hook)', () => {
  it('reads overrides from the file named by DEVLIC_FAKE_IDENTITY_FILE', async () => {
    const dir = tempDir('ident');
    const file = join(dir, 'id.json');
    writeFileSync(file, JSON.stringify({ machineId: 'feedfacefeedface', hostname: 'vm-7' }), { mode: 0o600 });
    const r = await identitySourceFromEnv({ DEVLIC_FAKE_IDENTITY_FILE: file })();
    expect(r).toMatchObject({ machineId: 'feedfacefeedface', hostname: 'vm-7', hardwareUuid: '' });
  });

  it('refuses a hook file that other users can write', async () => {
    const dir = tempDir('ident');
    const file = join(dir, 'id.json');
    writeFileSync(file, JSON.stringify({ machineId: 'feedfacefeedface' }));
    chmodSync(file, 0o666);
    await expect(identitySourceFromEnv({ DEVLIC_FAKE_IDENTITY_FILE: file })()).rejects.toThrow(/writable by other users/);
  });
});
