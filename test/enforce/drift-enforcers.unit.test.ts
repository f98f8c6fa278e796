// The real file and LibreOffice enforcers on files in a temp dir: drift made
// behind their back (deleted, 0600, edited, a symlink, a planted layer, a new
// install) is seen by verify() and repaired by the applier. No processes.
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLibreOfficeEnforcer, LAYER_FILE } from '../../agent/enforce/libreoffice.ts';
import { buildLayer, VIEWER_MODE_ITEM } from '../../agent/enforce/lo-layer.ts';
import { createFileEnforcer } from '../../agent/enforce/file.ts';
import { Applier } from '../../agent/enforce/apply.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger } from '../../shared/log.ts';
import { tempDir } from '../helpers/processes.ts';
import { writeFakeLibreOffice } from '../helpers/fake-libreoffice.ts';
import { full, newStore, ro, stateful } from './drift-helpers.ts';

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
