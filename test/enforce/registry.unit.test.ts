// createEnforcers and the AppConfig schema the agent's config loader uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isValid } from '../../shared/validate.ts';
import { DevlicError } from '../../shared/errors.ts';
import { AppConfig, createEnforcers } from '../../agent/enforce/registry.ts';
import { tempDir } from './helpers.ts';

function configError(f: () => unknown): DevlicError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DevlicError);
    expect((e as DevlicError).code).toBe('CONFIG_INVALID');
    return e as DevlicError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('enforcer registry', () => {
  it('builds every known enforcer, in order', () => {
    const es = createEnforcers([
      { name: 'file' },
      { name: 'hook', path: '/usr/local/libexec/devlic-hook', timeoutMs: 5000 },
      { name: 'libreoffice', installRoot: '/opt/libreoffice26.8' },
      { name: 'office-windows', regExe: 'C:\\Windows\\System32\\reg.exe', method: 'policy' },
      { name: 'office-macos' },
    ], { dataDir: '/var/lib/devlic', platform: 'linux' });
    expect(es.map((e) => e.name)).toEqual(['file', 'hook', 'libreoffice', 'office-windows', 'office-macos']);
  });

  it('the default file enforcer writes <dataDir>/app-mode.json', async () => {
    const dataDir = tempDir();
    const [file] = createEnforcers([{ name: 'file' }], { dataDir });
    await file.apply({ mode: 'full', reason: 'ASSIGNED', users: [] });
    expect(JSON.parse(readFileSync(join(dataDir, 'app-mode.json'), 'utf8')).mode).toBe('full');
  });

  it('rejects unknown apps, bad fields and duplicates with CONFIG_INVALID', () => {
    const ctx = { dataDir: '/x' };
    expect(configError(() => createEnforcers([{ name: 'word' } as unknown as AppConfig], ctx)).message)
      .toMatch(/apps\[0\]: unknown app "word"; known apps: file, hook, libreoffice, office-windows, office-macos/);
    expect(configError(() => createEnforcers([{} as unknown as AppConfig], ctx)).message).toMatch(/unknown app undefined/);
    expect(configError(() => createEnforcers([{ name: 'hook', path: 'relative/hook.sh' }], ctx)).message).toMatch(/apps\[0\] \(hook\).*\/path/);
    expect(configError(() => createEnforcers([{ name: 'hook' } as unknown as AppConfig], ctx)).message).toMatch(/apps\[0\] \(hook\)/);
    expect(configError(() => createEnforcers([{ name: 'file', colour: 'red' } as unknown as AppConfig], ctx)).message).toMatch(/apps\[0\] \(file\)/);
    expect(configError(() => createEnforcers([{ name: 'office-windows', productReleaseIds: ['O365 ProPlus'] }], ctx)).message).toMatch(/productReleaseIds/);
    expect(configError(() => createEnforcers([{ name: 'file' }, { name: 'file' }], ctx)).message).toMatch(/apps\[1\]: app "file" is listed twice/);
  });

  it('AppConfig validates config entries for the loader', () => {
    expect(isValid(AppConfig, { name: 'libreoffice' })).toBe(true);
    expect(isValid(AppConfig, { name: 'office-windows', method: 'both', productReleaseIds: ['O365ProPlusRetail'] })).toBe(true);
    expect(isValid(AppConfig, { name: 'office-windows', method: 'registry' })).toBe(false);
    expect(isValid(AppConfig, { name: 'hook', path: '/bin/true', timeoutMs: 10 })).toBe(false);
    expect(isValid(AppConfig, { name: 'excel' })).toBe(false);
  });
});
