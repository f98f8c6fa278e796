// The list of enforcers. Everything app-specific is derived from it: the
// schema and type of one entry of the agent config's `apps` (the config
// loader validates against it), the enforcers built from those entries, and
// the folders the installer leaves writable in the service sandbox.
// Adding an app: one file exporting a descriptor (descriptor.ts) and its line
// in ENFORCERS. The functions take the list as a parameter so tests can pass
// their own.
import Type from 'typebox';
import { DevlicError } from '../../shared/errors.ts';
import { isValid, validate } from '../../shared/validate.ts';
import type { Enforcer } from './types.ts';
import type { ConfigOf, EnforcerContext, EnforcerDescriptor } from './descriptor.ts';
import { fileEnforcer } from './file.ts';
import { hookEnforcer } from './hook.ts';
import { libreOfficeEnforcer } from './libreoffice.ts';
import { officeWindowsEnforcer } from './office-windows.ts';
import { officeMacosEnforcer } from './office-macos.ts';

export type { EnforcerContext, EnforcerDescriptor } from './descriptor.ts';

export const ENFORCERS = [fileEnforcer, hookEnforcer, libreOfficeEnforcer, officeWindowsEnforcer, officeMacosEnforcer] as const;

type List = readonly EnforcerDescriptor[];

/** The schema of one `apps` entry for a list of enforcers: the union of their schemas. */
export function appConfigSchema<const L extends List>(list: L): Type.TUnsafe<ConfigOf<L[number]>> {
  return Type.Unsafe<ConfigOf<L[number]>>(Type.Union(list.map((d) => d.schema)));
}

/** One entry of the agent config's `apps` list. */
export const AppConfig = appConfigSchema(ENFORCERS);
export type AppConfig = ConfigOf<(typeof ENFORCERS)[number]>;

export const APP_NAMES = ENFORCERS.map((d) => d.name);

/** The descriptor for an entry's `name`, or undefined. */
export function descriptorFor(name: unknown, list: List = ENFORCERS): EnforcerDescriptor | undefined {
  return list.find((d) => d.name === name);
}

/**
 * Builds the enforcers for the configured apps, in order. Entries are
 * checked again here (the caller may not have validated them): an unknown
 * name, a bad field or an app listed twice is CONFIG_INVALID naming the entry.
 */
export function createEnforcers(apps: readonly unknown[], ctx: EnforcerContext, list: List = ENFORCERS): Enforcer[] {
  const platform = ctx.platform ?? process.platform;
  const seen = new Set<string>();
  return apps.map((raw, i) => {
    const appName = (raw as { name?: unknown } | null)?.name;
    const d = descriptorFor(appName, list);
    if (!d) {
      throw new DevlicError('CONFIG_INVALID',
        `apps[${i}]: unknown app ${JSON.stringify(appName)}; known apps: ${list.map((x) => x.name).join(', ')}`);
    }
    if (seen.has(d.name)) throw new DevlicError('CONFIG_INVALID', `apps[${i}]: app "${d.name}" is listed twice`);
    seen.add(d.name);
    let cfg: unknown;
    try {
      cfg = validate(d.schema, raw, `apps[${i}] (${d.name})`);
    } catch (e) {
      throw new DevlicError('CONFIG_INVALID', (e as Error).message);
    }
    return d.create(cfg, { ...ctx, platform });
  });
}

/**
 * Folders a service sandbox must leave writable for these `apps` entries
 * (systemd ReadWritePaths). Entries that are unknown or invalid add nothing:
 * the agent refuses such a config at start anyway.
 */
export async function writablePaths(apps: readonly unknown[], platform: NodeJS.Platform, list: List = ENFORCERS): Promise<string[]> {
  const out: string[] = [];
  for (const app of apps) {
    const d = descriptorFor((app as { name?: unknown } | null)?.name, list);
    if (d && isValid(d.schema, app)) out.push(...await d.writablePaths(app, platform));
  }
  return out;
}
