// The list of enforcers and their configuration. `AppConfig` is the schema
// of one entry of the agent config's `apps` array (the config loader
// validates against it); createEnforcers turns the entries into enforcers.
// Adding an app: one file implementing Enforcer, one schema and one case here.
import Type from 'typebox';
import { DevlicError } from '../../shared/errors.ts';
import { validate } from '../../shared/validate.ts';
import type { Enforcer } from './types.ts';
import { createFileEnforcer } from './file.ts';
import { createHookEnforcer } from './hook.ts';
import { createLibreOfficeEnforcer } from './libreoffice.ts';
import { createOfficeWindowsEnforcer } from './office-windows.ts';
import { createOfficeMacosEnforcer } from './office-macos.ts';

// Absolute POSIX path or Windows drive path; no control characters.
const AbsPath = Type.String({ minLength: 2, maxLength: 1024, pattern: '^(/|[A-Za-z]:\\\\)[^\\u0000-\\u001f]*$' });
const TimeoutMs = Type.Integer({ minimum: 100, maximum: 600_000 });

export const FileApp = Type.Object({
  name: Type.Literal('file'),
  path: Type.Optional(AbsPath),
}, { additionalProperties: false });

export const HookApp = Type.Object({
  name: Type.Literal('hook'),
  path: AbsPath,
  args: Type.Optional(Type.Array(Type.String({ maxLength: 1024, pattern: '^[^\\u0000]*$' }), { maxItems: 32 })),
  timeoutMs: Type.Optional(TimeoutMs),
}, { additionalProperties: false });

export const LibreOfficeApp = Type.Object({
  name: Type.Literal('libreoffice'),
  installRoot: Type.Optional(AbsPath),
}, { additionalProperties: false });

export const OfficeWindowsApp = Type.Object({
  name: Type.Literal('office-windows'),
  regExe: Type.Optional(AbsPath),
  method: Type.Optional(Type.Union([Type.Literal('policy'), Type.Literal('click-to-run'), Type.Literal('both')])),
  productReleaseIds: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9]{2,64}$' }), { minItems: 1, maxItems: 16 })),
  timeoutMs: Type.Optional(TimeoutMs),
}, { additionalProperties: false });

export const OfficeMacosApp = Type.Object({
  name: Type.Literal('office-macos'),
  defaultsExe: Type.Optional(AbsPath),
  domain: Type.Optional(AbsPath),
  timeoutMs: Type.Optional(TimeoutMs),
}, { additionalProperties: false });

/** One entry of the agent config's `apps` list. */
export const AppConfig = Type.Union([FileApp, HookApp, LibreOfficeApp, OfficeWindowsApp, OfficeMacosApp]);
export type AppConfig = Type.Static<typeof AppConfig>;

const SCHEMAS = {
  file: FileApp,
  hook: HookApp,
  libreoffice: LibreOfficeApp,
  'office-windows': OfficeWindowsApp,
  'office-macos': OfficeMacosApp,
} as const;
export const APP_NAMES = Object.keys(SCHEMAS) as Array<keyof typeof SCHEMAS>;

export interface EnforcerContext {
  dataDir: string;
  platform?: NodeJS.Platform;
  log?: (event: string, fields: object) => void;
}

/**
 * Builds the enforcers for the configured apps, in order. Entries are
 * checked again here (the caller may not have validated them): an unknown
 * name, a bad field or an app listed twice is CONFIG_INVALID naming the entry.
 */
export function createEnforcers(apps: AppConfig[], ctx: EnforcerContext): Enforcer[] {
  const platform = ctx.platform ?? process.platform;
  const seen = new Set<string>();
  return apps.map((raw, i) => {
    const appName = (raw as { name?: unknown } | null)?.name;
    if (typeof appName !== 'string' || !(appName in SCHEMAS)) {
      throw new DevlicError('CONFIG_INVALID',
        `apps[${i}]: unknown app ${JSON.stringify(appName)}; known apps: ${APP_NAMES.join(', ')}`);
    }
    if (seen.has(appName)) throw new DevlicError('CONFIG_INVALID', `apps[${i}]: app "${appName}" is listed twice`);
    seen.add(appName);
    let app: AppConfig;
    try {
      app = validate(SCHEMAS[appName as keyof typeof SCHEMAS], raw, `apps[${i}] (${appName})`);
    } catch (e) {
      throw new DevlicError('CONFIG_INVALID', (e as Error).message);
    }
    switch (app.name) {
      case 'file': return createFileEnforcer(app, { dataDir: ctx.dataDir });
      case 'hook': return createHookEnforcer(app, { dataDir: ctx.dataDir, platform, log: ctx.log });
      case 'libreoffice': return createLibreOfficeEnforcer(app, { platform });
      case 'office-windows': return createOfficeWindowsEnforcer(app, { platform, log: ctx.log });
      case 'office-macos': return createOfficeMacosEnforcer(app, { platform, log: ctx.log });
    }
  });
}
