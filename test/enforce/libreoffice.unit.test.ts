// The LibreOffice enforcer against a fake install tree in a temp dir (the
// real LibreOffice is exercised in libreoffice-real.test.ts): the layer's
// exact form, 0644, atomic write, idempotence, removal, version and
// "unsupported" reporting, the XML checks, Debian's symlinked registry,
// refusing a registry folder that a non-root user or group could redirect,
// every install switched (not only the first), and installs inside another
// root (sysroot) read through that root's own symlinks.
import { chmodSync, chownSync, lchownSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYER_FILE, createLibreOfficeEnforcer, defaultInstallRoots, findInstall, findInstalls, libreOfficeEnforcer, writeLayer } from '../../agent/enforce/libreoffice.ts';
import { VIEWER_MODE_ITEM, buildLayer, checkLayer, schemaDeclares } from '../../agent/enforce/lo-layer.ts';
import { createEnforcers } from '../../agent/enforce/registry.ts';
import { tempDir } from './helpers.ts';
import { mainXcd } from '../helpers/fake-libreoffice.ts';

const RO = { mode: 'read-only' as const, reason: 'NOT_IN_LICENSED_GROUP', users: [] };
const FULL = { mode: 'full' as const, reason: 'ASSIGNED', users: [] };

function fakeInstall(version: string, supported: boolean, layout: 'share' | 'mac' = 'share'): { root: string; registry: string } {
  const root = join(tempDir(), 'libreoffice');
  const registry = layout === 'share' ? join(root, 'share', 'registry') : join(root, 'registry');
  mkdirSync(registry, { recursive: true });
  writeFileSync(join(registry, 'main.xcd'), mainXcd(version, supported));
  return { root, registry };
}

describe('libreoffice enforcer', () => {
  it('read-only writes exactly the documented layer, 0644, atomically', async () => {
    const { root, registry } = fakeInstall('26.8.0.1', true);
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: true, changed: true, detail: { supported: true, version: '26.8.0.1', layer: join(registry, LAYER_FILE) } });
    expect(r.applied).toContain('ViewerAppMode=true, finalized');
    expect(r.applied).toContain('running LibreOffice instances keep their mode until restarted');
    const text = readFileSync(join(registry, LAYER_FILE), 'utf8');
    expect(text).toContain('<dependency file="main"/>');
    expect(text).toMatch(/<oor:component-data oor:package="org\.openoffice\.Office" oor:name="Common">\s*<node oor:name="Misc">\s*<prop oor:name="ViewerAppMode" oor:finalized="true">\s*<value>true<\/value>\s*<\/prop>\s*<\/node>\s*<\/oor:component-data>/);
    expect(text).toContain('xmlns:oor="http://openoffice.org/2001/registry"');
    expect(statSync(join(registry, LAYER_FILE)).mode & 0o777).toBe(0o644);
    expect(readdirSync(registry).sort()).toEqual([LAYER_FILE, 'main.xcd']);
  });

  it('is idempotent and full removes the layer', async () => {
    const { root, registry } = fakeInstall('26.8.0.1', true);
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    await e.apply(RO);
    const mtime = statSync(join(registry, LAYER_FILE)).mtimeMs;
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: false });
    expect(statSync(join(registry, LAYER_FILE)).mtimeMs).toBe(mtime);
    // Wrong permissions are repaired (a 0600 layer aborts LibreOffice for users).
    chmodSync(join(registry, LAYER_FILE), 0o600);
    expect((await e.apply(RO)).changed).toBe(true);
    expect(statSync(join(registry, LAYER_FILE)).mode & 0o777).toBe(0o644);

    const f = await e.apply(FULL);
    expect(f).toMatchObject({ ok: true, changed: true, detail: { layerPresent: false } });
    expect(f.applied).toContain('until restarted');
    expect(readdirSync(registry)).toEqual(['main.xcd']);
    expect(await e.apply(FULL)).toMatchObject({ ok: true, changed: false });
  });

  it('does not claim read-only on a version without ViewerAppMode', async () => {
    const { root, registry } = fakeInstall('7.4.7.2', false);
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    const r = await e.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.applied).toBe('read-only layer written; unsupported by this LibreOffice version (7.4.7.2): LibreOffice still edits');
    expect(r.detail).toMatchObject({ supported: false, version: '7.4.7.2' });
    expect(r.error).toMatch(/does not have \/org\.openoffice\.Office\.Common\/Misc\/ViewerAppMode/);
    // The layer is still there, ready for when LibreOffice is upgraded.
    expect(readdirSync(registry)).toContain(LAYER_FILE);
    const c = await e.check();
    expect(c.ok).toBe(false);
    expect(c.message).toMatch(/LibreOffice 7\.4\.7\.2 .*not supported/);
  });

  it('finds the install: share/registry, a macOS bundle, version fallback, nothing', async () => {
    const mac = fakeInstall('25.2.1.2', false, 'mac');
    expect(await findInstall(['/nonexistent', mac.root])).toEqual({ root: mac.root, registryDir: mac.registry, version: '25.2.1.2' });

    const old = fakeInstall('x', false);
    writeFileSync(join(old.registry, 'main.xcd'), '<oor:data/>');
    mkdirSync(join(old.root, 'program'));
    writeFileSync(join(old.root, 'program', 'bootstraprc'), '[Bootstrap]\nProductKey=LibreOffice 7.4\n');
    expect((await findInstall([old.root]))?.version).toBe('7.4');

    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: join(tempDir(), 'none') }, { platform: 'linux' });
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: false });
    expect(r.error).toMatch(/no LibreOffice registry/);
    expect((await e.check()).ok).toBe(false);
  });

  it('check reports a supported, writable install', async () => {
    const { root } = fakeInstall('26.8.0.1', true);
    const c = await createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' }).check();
    expect(c).toMatchObject({ ok: true });
    expect(c.message).toContain('LibreOffice 26.8.0.1');
  });

  it('reports an unwritable registry without touching it', async () => {
    const { root, registry } = fakeInstall('26.8.0.1', true);
    // A directory where the layer file should be: the rename must fail.
    mkdirSync(join(registry, LAYER_FILE));
    const r = await createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' }).apply(RO);
    expect(r.ok).toBe(false);
    expect(r.error).toBeTruthy();
    expect(readdirSync(registry).sort()).toEqual([LAYER_FILE, 'main.xcd']);
  });
});

describe('libreoffice enforcer: where it writes', () => {
  const asRoot = process.getuid?.() === 0;

  it('passes the Debian 12 layout: share/registry a symlink to /etc/libreoffice/registry, main.xcd a symlink back', async () => {
    // As libreoffice-common 7.4 ships it: /usr/lib/libreoffice/share/registry -> /etc/libreoffice/registry,
    // and the schema in /usr/lib/libreoffice/share/.registry/main.xcd, linked from /etc.
    const { root, registry } = fakeInstall('26.8.0.1', true);
    const hidden = join(root, 'share', '.registry');
    renameSync(registry, hidden);
    const etc = join(tempDir(), 'etc', 'libreoffice', 'registry');
    mkdirSync(etc, { recursive: true });
    symlinkSync(join(hidden, 'main.xcd'), join(etc, 'main.xcd'));
    symlinkSync(etc, registry);
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    expect(await e.check()).toMatchObject({ ok: true });
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: true, detail: { supported: true } });
    expect(readdirSync(etc).sort()).toEqual([LAYER_FILE, 'main.xcd']);
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: false });
    expect(await e.apply(FULL)).toMatchObject({ ok: true, changed: true });
    expect(readdirSync(etc)).toEqual(['main.xcd']);
  });

  it.runIf(asRoot)('refuses a registry folder reached through a symlink another user owns, writing and removing nothing there', async () => {
    const { registry } = fakeInstall('26.8.0.1', true);
    const pub = tempDir();
    chmodSync(pub, 0o1777);
    symlinkSync(join(registry, '..', '..'), join(pub, 'lo'));
    lchownSync(join(pub, 'lo'), 65534, 65534);
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: join(pub, 'lo') }, { platform: 'linux' });
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: false, detail: { code: 'UNSAFE_PATH' } });
    expect(r.error).toMatch(/lo is owned by uid 65534/);
    expect(readdirSync(registry)).toEqual(['main.xcd']);
    writeFileSync(join(registry, LAYER_FILE), 'placed by root, must stay while refused');
    expect(await e.apply(FULL)).toMatchObject({ ok: false });
    expect(readdirSync(registry).sort()).toEqual([LAYER_FILE, 'main.xcd']);
    expect((await e.check()).message).toMatch(/owned by uid 65534/);
  });

  it.runIf(asRoot)('refuses a registry folder writable by a non-root group', async () => {
    const { root, registry } = fakeInstall('26.8.0.1', true);
    chownSync(join(root, 'share'), 0, 65534);
    chmodSync(join(root, 'share'), 0o775);
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    const r = await e.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/share is group-writable \(gid 65534\)/);
    expect(readdirSync(registry)).toEqual(['main.xcd']);
    expect(await e.check()).toMatchObject({ ok: false, message: expect.stringMatching(/group-writable/) });
  });
});

describe('LibreOffice layers', () => {
  it('writeLayer takes any items, groups them per node and escapes values', async () => {
    const { registry } = fakeInstall('7.4.7.2', false);
    const items = [
      { path: '/org.openoffice.Office.Common/Misc', prop: 'ShowTipOfTheDay', value: false },
      VIEWER_MODE_ITEM,
      { path: '/org.openoffice.Office.Common/Save/Document', prop: 'Note', value: 'a<b & "c"' },
    ];
    expect((await writeLayer(registry, items)).changed).toBe(true);
    const text = readFileSync(join(registry, LAYER_FILE), 'utf8');
    expect(text.match(/<node oor:name="Misc">/g)).toHaveLength(1);
    expect(text).toContain('<value>a&lt;b &amp; &quot;c&quot;</value>');
    expect(text).toMatch(/<node oor:name="Save">\s*<node oor:name="Document">/);
    expect((await writeLayer(registry, items)).changed).toBe(false);
  });

  it('refuses names that could break the XML', () => {
    expect(() => buildLayer([{ path: '/org.openoffice.Office.Common/Mi"sc', prop: 'X', value: true }])).toThrow(/bad node/);
    expect(() => buildLayer([{ path: '/org.openoffice.Office.Common/Misc', prop: 'X"/><x', value: true }])).toThrow(/bad node/);
    expect(() => buildLayer([{ path: 'org.openoffice.Office.Common/Misc', prop: 'X', value: true }])).toThrow(/path/);
    expect(() => buildLayer([])).toThrow(/at least one/);
    expect(() => buildLayer([VIEWER_MODE_ITEM, VIEWER_MODE_ITEM])).toThrow(/duplicate/);
  });

  it('checkLayer accepts what we build and rejects malformed or weakened layers', () => {
    const good = buildLayer([VIEWER_MODE_ITEM]);
    expect(() => checkLayer(good)).not.toThrow();
    expect(() => checkLayer(good.replace('</node>', ''))).toThrow(/unbalanced|unclosed/);
    expect(() => checkLayer(good.replace('<dependency file="main"/>', ''))).toThrow(/dependency/);
    expect(() => checkLayer(good.replace(' oor:finalized="true"', ''))).toThrow(/finalized/);
    expect(() => checkLayer(good.replace('<value>true', '<value>a & b'))).toThrow(/&/);
    expect(() => checkLayer(good.replace('oor:name="Misc"', 'oor:name="Misc'))).toThrow(/well-formed/);
    expect(() => checkLayer(good + '<extra/>')).toThrow(/root/);
    expect(() => checkLayer(good.replace('<?xml version="1.0" encoding="UTF-8"?>', ''))).toThrow(/declaration/);
  });

  it('schemaDeclares looks only at the component tree at the exact path', () => {
    const x = mainXcd('7.4.7.2', false);
    expect(schemaDeclares([x], VIEWER_MODE_ITEM)).toBe(false); // only in <templates>
    expect(schemaDeclares([x], { path: '/org.openoffice.Office.Common/Misc', prop: 'ShowTipOfTheDay', value: false })).toBe(true);
    expect(schemaDeclares([x], { path: '/org.openoffice.Office.Common/Other', prop: 'ShowTipOfTheDay', value: false })).toBe(false);
    expect(schemaDeclares([x], { path: '/org.openoffice.Office.Writer/Misc', prop: 'X', value: false })).toBeUndefined();
    expect(schemaDeclares([mainXcd('26.8.0.1', true)], VIEWER_MODE_ITEM)).toBe(true);
  });
});

/** A Debian-style install inside `sysroot`: share/registry/main.xcd an absolute link into its /etc (trixie's layout). */
function debianInRoot(sysroot: string, version: string, supported: boolean): string {
  const etc = join(sysroot, 'etc/libreoffice/registry');
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, 'main.xcd'), mainXcd(version, supported));
  const reg = join(sysroot, 'usr/lib/libreoffice/share/registry');
  mkdirSync(reg, { recursive: true });
  symlinkSync('/etc/libreoffice/registry/main.xcd', join(reg, 'main.xcd'));
  return join(sysroot, 'usr/lib/libreoffice');
}

function tdfInRoot(sysroot: string, name: string, version: string): string {
  const reg = join(sysroot, 'opt', name, 'share/registry');
  mkdirSync(reg, { recursive: true });
  writeFileSync(join(reg, 'main.xcd'), mainXcd(version, true));
  return join(sysroot, 'opt', name);
}

describe('libreoffice enforcer: every install, and installs inside another root', () => {
  it('switches every install found, not only the first (Debian 7.4 must not hide TDF 26.8)', async () => {
    const sysroot = tempDir();
    // An old Debian one without ViewerAppMode, and two TDF ones (newest first).
    const deb = debianInRoot(sysroot, '7.4.7.2', false);
    const tdf26 = tdfInRoot(sysroot, 'libreoffice26.8', '26.8.0.1');
    const tdf25 = tdfInRoot(sysroot, 'libreoffice25.2', '25.2.1.2');
    mkdirSync(join(sysroot, 'opt', 'unrelated'));
    expect(await defaultInstallRoots('linux', sysroot)).toEqual([deb, tdf26, tdf25]);
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', sysroot }, { platform: 'linux' });
    const r = await e.apply(RO);
    const layers = [join(sysroot, 'usr/lib/libreoffice/share/registry'), join(tdf26, 'share/registry'), join(tdf25, 'share/registry')].map((d) => join(d, LAYER_FILE));
    for (const l of layers) expect(statSync(l).mode & 0o777).toBe(0o644);
    // 7.4 cannot be switched: the whole result says so, and names it.
    expect(r).toMatchObject({ ok: false, changed: true });
    expect(r.detail).toEqual({ installs: [
      expect.objectContaining({ installRoot: deb, version: '7.4.7.2', supported: false }),
      expect.objectContaining({ installRoot: tdf26, version: '26.8.0.1', supported: true, layer: layers[1] }),
      expect.objectContaining({ installRoot: tdf25, version: '25.2.1.2', supported: true }),
    ] });
    expect(r.applied).toContain(`LibreOffice 26.8.0.1 at ${tdf26}: read-only: viewer-mode layer written`);
    expect(r.error).toMatch(new RegExp(`^LibreOffice 7\\.4\\.7\\.2 at ${deb}: LibreOffice 7\\.4\\.7\\.2 does not have`));
    expect(r.error).not.toContain(tdf26);
    const c = await e.check();
    expect(c.ok).toBe(false);
    expect(c.message).toContain(`LibreOffice 26.8.0.1 at ${tdf26}: registry writable, ViewerAppMode supported`);

    const f = await e.apply(FULL);
    expect(f).toMatchObject({ ok: true, changed: true });
    for (const l of layers) expect(() => statSync(l)).toThrow(/ENOENT/);
    expect(await e.apply(FULL)).toMatchObject({ ok: true, changed: false });
  });

  it('installRoot takes a list: each is switched, one without a registry is an error that stops none of the others', async () => {
    const a = fakeInstall('26.8.0.1', true);
    const b = fakeInstall('26.8.1.1', true);
    const none = join(tempDir(), 'none');
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: [a.root, none, b.root] }, { platform: 'linux' });
    const r = await e.apply(RO);
    expect(r.ok).toBe(false);
    expect(r.error).toBe(`${none}: no LibreOffice registry (share/registry/main.xcd) under ${none}`);
    expect(readdirSync(a.registry)).toContain(LAYER_FILE);
    expect(readdirSync(b.registry)).toContain(LAYER_FILE);
    expect((r.detail as { installs: unknown[] }).installs).toHaveLength(3);
    expect((await e.check()).ok).toBe(false);
    // Both fine: ok, and the same folder named twice (or through a link) is one install.
    const alias = join(tempDir(), 'alias');
    symlinkSync(a.root, alias);
    const both = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: [a.root, b.root, alias] }, { platform: 'linux' });
    expect(await both.apply(RO)).toMatchObject({ ok: true, changed: false, detail: { installs: [expect.anything(), expect.anything()] } });
    expect((await findInstalls([a.root, b.root, alias, a.root])).map((i) => i.root)).toEqual([a.root, b.root]);
    // The config schema refuses an empty list and relative paths.
    const ctx = { dataDir: tempDir(), platform: 'linux' as const };
    for (const installRoot of [[], ['relative/lo'], [a.root, 'x'], 'relative']) {
      expect(() => createEnforcers([{ name: 'libreoffice', installRoot }], ctx)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
    expect(createEnforcers([{ name: 'libreoffice', installRoot: [a.root, b.root] }], ctx)).toHaveLength(1);
  });

  it('sysroot: absolute symlinks resolve inside it, so the version is the sysroot\'s own', async () => {
    const sysroot = tempDir();
    const deb = debianInRoot(sysroot, '26.8.3.1', true);
    const [inside] = await findInstalls([deb], sysroot);
    expect(inside).toEqual({ root: deb, registryDir: join(deb, 'share/registry'), version: '26.8.3.1', sysroot });
    // Without sysroot the same link is read on the host: another file (or none), never the sysroot's.
    expect((await findInstall([deb]))?.version).not.toBe('26.8.3.1');
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: deb, sysroot }, { platform: 'linux' });
    expect(await e.apply(RO)).toMatchObject({ ok: true, changed: true, detail: { version: '26.8.3.1', supported: true, layer: join(deb, 'share/registry', LAYER_FILE) } });
    expect(await e.check()).toMatchObject({ ok: true });
  });

  it.runIf(process.getuid?.() === 0)('sysroot: an install reached through a link another user owns is refused, the others are still switched', async () => {
    const sysroot = tempDir();
    const deb = debianInRoot(sysroot, '26.8.3.1', true);
    lchownSync(join(deb, 'share/registry/main.xcd'), 65534, 65534);
    const tdf = tdfInRoot(sysroot, 'libreoffice26.8', '26.8.0.1');
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', sysroot }, { platform: 'linux' });
    const r = await e.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: true });
    expect(r.detail).toEqual({ installs: [expect.objectContaining({ installRoot: tdf, supported: true }), { installRoot: deb, code: 'UNSAFE_PATH' }] });
    expect(r.error).toMatch(/main\.xcd is owned by uid 65534/);
    expect(readdirSync(join(tdf, 'share/registry'))).toContain(LAYER_FILE);
    expect(readdirSync(join(deb, 'share/registry'))).toEqual(['main.xcd']);
    expect((await e.check()).message).toMatch(/owned by uid 65534/);
  });

  it('sysroot: a registry folder linked to / or up with .. stays inside; installRoot outside the sysroot is refused', async () => {
    const sysroot = tempDir();
    // Debian 12's layout: share/registry itself an absolute link into /etc.
    const etc = join(sysroot, 'etc/libreoffice/registry');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'main.xcd'), mainXcd('26.8.0.1', true));
    mkdirSync(join(sysroot, 'usr/lib/libreoffice/share'), { recursive: true });
    symlinkSync('../../../../../../../../../../etc/libreoffice/registry', join(sysroot, 'usr/lib/libreoffice/share/registry'));
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', sysroot }, { platform: 'linux' });
    expect(await e.apply(RO)).toMatchObject({ ok: true, detail: { layer: join(etc, LAYER_FILE) } });
    expect(readdirSync(etc).sort()).toEqual([LAYER_FILE, 'main.xcd']);
    expect(await libreOfficeEnforcer.writablePaths({ name: 'libreoffice', sysroot }, 'linux')).toContain(etc);

    const outside = fakeInstall('26.8.0.1', true);
    const bad = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: outside.root, sysroot }, { platform: 'linux' });
    const r = await bad.apply(RO);
    expect(r).toMatchObject({ ok: false, changed: false });
    expect(r.error).toContain(`${outside.root} is not inside ${sysroot}`);
    expect(readdirSync(outside.registry)).toEqual(['main.xcd']);
    expect((await bad.check()).ok).toBe(false);
    expect((await createLibreOfficeEnforcer({ name: 'libreoffice', sysroot: tempDir() }, { platform: 'linux' }).apply(RO)).error)
      .toMatch(/LibreOffice not found in its usual places inside /);
  });
});
