// The OS version in the agent's status reports (a fact group rules can name):
// what is taken from systeminformation's osInfo(), the test hook, that it is
// asked once and a failure is asked again, and that a report carries it only
// when known (an older service's schema or an unknown version: left out, and
// the service keeps what it had).
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Compile } from 'typebox/compile';
import { osVersionFromInfo, osVersionSourceFromEnv, platformOsVersion, rememberedOsVersion } from '../../agent/host/os-version.ts';
import { buildStatusReport } from '../../agent/report/report.ts';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { StatusReport } from '../../shared/schemas/device.ts';
import { tempDir } from '../helpers/processes.ts';

describe('osVersionFromInfo', () => {
  it.each([
    [{ release: '10.0.22631' }, '10.0.22631'],
    [{ release: '12 (bookworm)' }, '12 (bookworm)'],
    [{ release: ' 14.5 ' }, '14.5'],
    [{ release: 'unknown' }, ''],
    [{ release: '' }, ''],
    [{}, ''],
    [{ release: 'ok\u0007bell' }, 'ok bell'],
    [{ release: 'x'.repeat(300) }, 'x'.repeat(128)],
  ])('%j -> %j', (info, want) => {
    expect(osVersionFromInfo(info)).toBe(want);
  });
});

describe('osVersionSourceFromEnv', () => {
  it('the real source without the test hook; with it, the osVersion of the fake identity file', async () => {
    expect(osVersionSourceFromEnv({})).toBe(platformOsVersion);
    const file = join(tempDir('osver'), 'identity.json');
    writeFileSync(file, JSON.stringify({ hostname: 'h', osVersion: '10.0.26100' }), { mode: 0o600 });
    expect(await osVersionSourceFromEnv({ DEVLIC_FAKE_IDENTITY_FILE: file })()).toBe('10.0.26100');
    writeFileSync(file, JSON.stringify({ hostname: 'h' }));
    expect(await osVersionSourceFromEnv({ DEVLIC_FAKE_IDENTITY_FILE: file })()).toBe('');
  });
});

describe('rememberedOsVersion', () => {
  it('asks once and remembers; empty is undefined', async () => {
    let asked = 0;
    const v = rememberedOsVersion(async () => { asked++; return '14.5'; }, () => { throw new Error('no error expected'); });
    expect([await v(), await v(), asked]).toEqual(['14.5', '14.5', 1]);
    const none = rememberedOsVersion(async () => '', () => {});
    expect(await none()).toBeUndefined();
  });

  it('a failure reads as undefined, is reported, and is asked again next time', async () => {
    let asked = 0;
    const errors: unknown[] = [];
    const v = rememberedOsVersion(async () => { if (asked++ === 0) throw new Error('osInfo failed'); return '12'; }, (e) => errors.push(e));
    expect(await v()).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect([await v(), asked]).toEqual(['12', 2]);
  });
});

describe('buildStatusReport and osVersion', () => {
  const valid = Compile(StatusReport);
  it('carries the OS version when known and leaves the field out when not; both valid for the service', () => {
    const store = new Store(openDb(join(tempDir('osver-report'), 'agent.db')));
    const decision = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' } as const;
    const withIt = buildStatusReport(store, decision, null, [], '10.0.22631');
    expect(withIt.osVersion).toBe('10.0.22631');
    const without = buildStatusReport(store, decision, null);
    expect('osVersion' in without).toBe(false);
    expect([valid.Check(withIt), valid.Check(without)]).toEqual([true, true]);
    // An older agent's report (no field) stays valid: the field is optional.
    store.close();
  });
});
