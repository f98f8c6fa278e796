// The pieces of the single-executable build that can be tested without
// building: the better-sqlite3 stand-in (loads the addon only from a folder
// nobody else can write, and gives every Database that addon), and the two
// source adjustments the bundler makes for CommonJS.
import { chmodSync, chownSync, copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import SeaDatabase, { assertSafeToLoad, loadAddon } from '../../installer/sea/better-sqlite3.ts';
import { replaceImportMeta, stripEntryAwait } from '../../installer/build/bundle.ts';
import { seaConfig } from '../../installer/build/sea.ts';
import { tempDir } from '../helpers/processes.ts';
import { ROOT } from './helpers.ts';

const require = createRequire(import.meta.url);

function addonIn(mode: number): string {
  const dir = join(tempDir('addon'), 'program');
  mkdirSync(dir);
  chmodSync(dir, mode);
  const file = join(dir, 'better_sqlite3.node');
  copyFileSync(join(ROOT, 'node_modules/better-sqlite3/prebuilds/linux-x64.node'), file);
  chmodSync(file, 0o644);
  return file;
}

describe('better-sqlite3 inside the single executable', () => {
  it('refuses an addon in a world-writable folder, a writable file, or one owned by someone else', () => {
    expect(() => assertSafeToLoad(addonIn(0o1777))).toThrow(/writable by other users/);
    const file = addonIn(0o755);
    chmodSync(file, 0o666);
    expect(() => assertSafeToLoad(file)).toThrow(/writable by other users/);
    const owned = addonIn(0o755);
    if (process.getuid?.() === 0) {
      chownSync(owned, 4321, 4321);
      expect(() => assertSafeToLoad(owned, 1000)).toThrow(/belongs to uid 4321/);
    }
    expect(() => assertSafeToLoad(join(tempDir('none'), 'better_sqlite3.node'))).toThrow(/missing/);
    expect(() => assertSafeToLoad(addonIn(0o755))).not.toThrow();
  });

  it('opens databases with the addon it was given as nativeBinding (loaded once)', () => {
    const file = addonIn(0o755);
    const addon = loadAddon(file);
    expect(loadAddon(file)).toBe(addon);
    const db = new SeaDatabase(':memory:', { nativeBinding: file } as never);
    expect(db.prepare('SELECT sqlite_version() AS v').get()).toMatchObject({ v: expect.any(String) });
    expect(db).toBeInstanceOf(SeaDatabase);
    db.close();
  });
});

describe('bundle adjustments for CommonJS', () => {
  it('turns only the entry line `await runCli(` into `void runCli(`', () => {
    const src = "import x from 'y';\nasync function f() { await runCli('a', g); }\nawait runCli('devlic-agent', () => main());\n";
    expect(stripEntryAwait(src)).toBe("import x from 'y';\nasync function f() { await runCli('a', g); }\nvoid runCli('devlic-agent', () => main());\n");
  });

  it('points import.meta.dirname of a module at the same place beside the executable', () => {
    const out = replaceImportMeta('const d = join(import.meta.dirname, "..", "console");', 'service/http/console-routes.ts');
    expect(out).not.toContain('import.meta');
    const fn = new Function('require', 'process', 'join', `${out}; return d;`);
    expect(fn(require, { execPath: '/usr/lib/devlic-server/devlic-server' }, (...p: string[]) => require('node:path').join(...p)))
      .toBe('/usr/lib/devlic-server/service/console');
  });

  it('SEA settings: code cache only for the host platform, NODE_OPTIONS ignored', () => {
    expect(seaConfig('m.cjs', 'b.blob', false)).toMatchObject({ useCodeCache: true, execArgvExtension: 'none', disableExperimentalSEAWarning: true });
    expect(seaConfig('m.cjs', 'b.blob', true).useCodeCache).toBe(false);
    expect(seaConfig('m.cjs', 'b.blob', false, { 'console/index.html': '/x' }).assets).toEqual({ 'console/index.html': '/x' });
  });
});
