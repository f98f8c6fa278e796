// The one configuration loader (shared/config.ts): defaults, then an
// optional JSON file, then command-line flags; validated so a typo fails at
// start-up with CONFIG_INVALID naming the file and the field.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Type from 'typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { DevlicError } from '../../shared/errors.ts';
import { loadServerConfig, SERVER_DEFAULTS } from '../../service/config.ts';

const Schema = Type.Object({
  server: Type.String({ minLength: 1 }),
  pollSeconds: Type.Integer({ minimum: 1 }),
  apps: Type.Array(Type.String()),
  debug: Type.Boolean(),
}, { additionalProperties: false });
type Cfg = Type.Static<typeof Schema>;
const DEFAULTS: Cfg = { server: 'https://licensing.example.test', pollSeconds: 300, apps: ['file'], debug: false };

const dir = mkdtempSync(join(tmpdir(), 'devlic-config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string): string {
  const f = join(dir, `cfg-${++n}.json`);
  writeFileSync(f, content);
  return f;
}

function configError(fn: () => unknown): DevlicError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DevlicError);
    expect((e as DevlicError).code).toBe('CONFIG_INVALID');
    return e as DevlicError;
  }
  throw new Error('expected CONFIG_INVALID, but the configuration loaded');
}

describe('loadConfig', () => {
  it('returns the defaults when there is no file and no flag', () => {
    expect(loadConfig(Schema, DEFAULTS, {})).toEqual(DEFAULTS);
  });

  it('accepts a missing optional file and uses the defaults', () => {
    expect(loadConfig(Schema, DEFAULTS, { file: join(dir, 'absent.json') })).toEqual(DEFAULTS);
  });

  it('refuses a missing required file, naming it', () => {
    const f = join(dir, 'required-absent.json');
    const e = configError(() => loadConfig(Schema, DEFAULTS, { file: f, fileRequired: true }));
    expect(e.message).toContain(f);
  });

  it('refuses a file it cannot read even when optional (it exists, so it was meant)', () => {
    const d = join(dir, 'a-directory.json');
    mkdirSync(d);
    expect(configError(() => loadConfig(Schema, DEFAULTS, { file: d })).message).toContain(d);
  });

  it('lets the file override some defaults and keeps the rest', () => {
    const f = file(JSON.stringify({ pollSeconds: 60, apps: ['libreoffice', 'file'] }));
    expect(loadConfig(Schema, DEFAULTS, { file: f })).toEqual({ ...DEFAULTS, pollSeconds: 60, apps: ['libreoffice', 'file'] });
  });

  it('lets flags override the file, and ignores flags that were not given (undefined)', () => {
    const f = file(JSON.stringify({ pollSeconds: 60, server: 'https://from-file.test' }));
    const cfg = loadConfig(Schema, DEFAULTS, { file: f, overrides: { server: 'https://from-flag.test', pollSeconds: undefined, debug: true } });
    expect(cfg).toEqual({ ...DEFAULTS, server: 'https://from-flag.test', pollSeconds: 60, debug: true });
  });

  it('refuses invalid JSON with CONFIG_INVALID naming the file', () => {
    const f = file('{ "pollSeconds": 60, }');
    const e = configError(() => loadConfig(Schema, DEFAULTS, { file: f }));
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/JSON/);
  });

  it('refuses a file that is JSON but not an object of settings', () => {
    for (const text of ['null', '3', '"pollSeconds"', '[1, 2]', 'true']) {
      const f = file(text);
      expect(configError(() => loadConfig(Schema, DEFAULTS, { file: f })).message, text).toContain(f);
    }
  });

  it('refuses an unknown (typo) field, naming the field and the file', () => {
    const f = file(JSON.stringify({ pollSecs: 60 }));
    const e = configError(() => loadConfig(Schema, DEFAULTS, { file: f }));
    expect(e.message).toContain('pollSecs');
    expect(e.message).toContain(f);
  });

  it('refuses a value of the wrong type or range, naming the field', () => {
    const wrongType = file(JSON.stringify({ pollSeconds: '60' }));
    expect(configError(() => loadConfig(Schema, DEFAULTS, { file: wrongType })).message).toContain('pollSeconds');
    const outOfRange = file(JSON.stringify({ pollSeconds: 0 }));
    expect(configError(() => loadConfig(Schema, DEFAULTS, { file: outOfRange })).message).toContain('pollSeconds');
    const nested = file(JSON.stringify({ apps: ['file', 7] }));
    expect(configError(() => loadConfig(Schema, DEFAULTS, { file: nested })).message).toContain('apps/1');
  });

  it('validates flags too', () => {
    const e = configError(() => loadConfig(Schema, DEFAULTS, { overrides: { server: '' } }));
    expect(e.message).toContain('server');
  });

  it('refuses a __proto__ key as an unknown field, and pollutes no prototype', () => {
    const f = file('{"__proto__": {"debug": true}, "pollSeconds": 30}');
    expect(configError(() => loadConfig(Schema, DEFAULTS, { file: f })).message).toContain('__proto__');
    expect(({} as any).debug).toBeUndefined();
  });
});

describe('loadServerConfig (the real server schema)', () => {
  it('uses the documented defaults without a file', () => {
    expect(loadServerConfig(undefined, {})).toEqual(SERVER_DEFAULTS);
  });

  it('requires a file given with --config, and refuses a typo in it', () => {
    configError(() => loadServerConfig(join(dir, 'no-such-server.json'), {}));
    const f = file(JSON.stringify({ offlineValidityDay: 30 }));
    expect(configError(() => loadServerConfig(f, {})).message).toContain('offlineValidityDay');
  });

  it('applies file and flags in order', () => {
    const f = file(JSON.stringify({ offlineValidityDays: 30, listen: '127.0.0.1:9000' }));
    const cfg = loadServerConfig(f, { listen: '0.0.0.0:8443', dataDir: undefined });
    expect(cfg.offlineValidityDays).toBe(30);
    expect(cfg.listen).toBe('0.0.0.0:8443');
    expect(cfg.dataDir).toBe(SERVER_DEFAULTS.dataDir);
  });
});
