// The enforcer list is the one place an app is added: a descriptor put in
// the list is picked up by config validation, by createEnforcers and by the
// installer's sandbox paths, with no other edit. Pure: a test-only
// descriptor is passed to the functions that take the list.
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { isValid } from '../../shared/validate.ts';
import { DevlicError } from '../../shared/errors.ts';
import { defineEnforcer, AbsPath } from '../../agent/enforce/descriptor.ts';
import { appConfigSchema, createEnforcers, ENFORCERS, writablePaths } from '../../agent/enforce/registry.ts';
import { sandboxWritePaths } from '../../installer/install-cli.ts';
import { agentUnit } from '../../installer/platforms/systemd.ts';
import { agentLayout } from '../../installer/layout.ts';

const created: Array<{ cfg: unknown; platform: string }> = [];
const kiosk = defineEnforcer({
  name: 'kiosk',
  schema: Type.Object({ name: Type.Literal('kiosk'), stateDir: AbsPath }, { additionalProperties: false }),
  create(cfg, ctx) {
    created.push({ cfg, platform: ctx.platform });
    return {
      name: 'kiosk',
      apply: async (t) => ({ enforcer: 'kiosk', ok: true, changed: false, applied: t.mode }),
      check: async () => ({ enforcer: 'kiosk', ok: true, message: 'ok' }),
      verify: async () => ({ enforcer: 'kiosk', drift: [] }),
    };
  },
  writablePaths: (cfg, platform) => (platform === 'linux' ? [cfg.stateDir] : []),
});
const LIST = [...ENFORCERS, kiosk];

describe('enforcer descriptors', () => {
  it('every built-in descriptor names its schema literal and accepts the same entries as before', () => {
    for (const d of ENFORCERS) expect((d.schema as { properties: { name: { const: string } } }).properties.name.const).toBe(d.name);
    expect(ENFORCERS.map((d) => d.name)).toEqual(['file', 'hook', 'libreoffice', 'office-windows', 'office-macos']);
  });

  it('a new descriptor in the list is picked up by config validation', () => {
    const schema = appConfigSchema(LIST);
    expect(isValid(schema, { name: 'kiosk', stateDir: '/var/lib/kiosk' })).toBe(true);
    expect(isValid(schema, { name: 'kiosk' })).toBe(false);
    expect(isValid(schema, { name: 'kiosk', stateDir: 'relative' })).toBe(false);
    expect(isValid(schema, { name: 'file' })).toBe(true);
    // Not in the real list: the agent's own schema still refuses it.
    expect(isValid(appConfigSchema(ENFORCERS), { name: 'kiosk', stateDir: '/var/lib/kiosk' })).toBe(false);
  });

  it('a new descriptor in the list is built by createEnforcers, and validated first', () => {
    created.length = 0;
    const es = createEnforcers([{ name: 'file' }, { name: 'kiosk', stateDir: '/srv/kiosk' }], { dataDir: '/x', platform: 'linux' }, LIST);
    expect(es.map((e) => e.name)).toEqual(['file', 'kiosk']);
    expect(created).toEqual([{ cfg: { name: 'kiosk', stateDir: '/srv/kiosk' }, platform: 'linux' }]);
    expect(() => createEnforcers([{ name: 'kiosk' }], { dataDir: '/x' }, LIST)).toThrow(DevlicError);
    expect(() => createEnforcers([{ name: 'kiosk', stateDir: '/s' }], { dataDir: '/x' })).toThrow(/unknown app "kiosk"/);
  });

  it("a new descriptor's writable paths reach the installer's systemd sandbox", async () => {
    const apps = [{ name: 'file', path: '/srv/mode/app.json' }, { name: 'kiosk', stateDir: '/srv/kiosk' }];
    const paths = await writablePaths(apps, 'linux', LIST);
    expect(paths).toEqual(['/srv/mode', '/srv/kiosk']);
    expect(agentUnit({ layout: agentLayout('linux'), readWritePaths: paths })).toContain('ReadWritePaths=-/srv/mode -/srv/kiosk');
    expect(await writablePaths(apps, 'darwin', LIST)).toEqual(['/srv/mode']);
    // Invalid or unknown entries open nothing.
    expect(await writablePaths([{ name: 'kiosk' }, { name: 'word' }, null], 'linux', LIST)).toEqual([]);
    // The installer's function is the registry's over the real list.
    expect(await sandboxWritePaths(apps, 'linux')).toEqual(['/srv/mode']);
  });
});
