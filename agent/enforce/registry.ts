// TEMPORARY stand-in for the enforcer registry, with only the `file` enforcer,
// so the agent can run end to end on this branch. The real registry (file,
// hook, libreoffice, office-windows, office-macos) is built on the `enforce`
// branch and replaces this file when the branches are merged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Type from 'typebox';
import type { Enforcer, EnforcementTarget, ApplyResult, CheckResult } from './types.ts';
import { writeFileAtomic } from '../fsutil.ts';

export const FileAppConfig = Type.Object({
  name: Type.Literal('file'),
  path: Type.Optional(Type.String({ minLength: 1 })),
}, { additionalProperties: false });

export const AppConfig = Type.Union([FileAppConfig]);
export type AppConfig = Type.Static<typeof AppConfig>;

export interface EnforcerContext {
  dataDir: string;
  platform?: NodeJS.Platform;
  log?: (event: string, fields: object) => void;
}

function fileEnforcer(path: string): Enforcer {
  return {
    name: 'file',
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      let before: string | undefined;
      try { before = readFileSync(path, 'utf8'); } catch { /* first write */ }
      const body = JSON.stringify({ mode: target.mode, reason: target.reason, users: target.users }) + '\n';
      if (before === body) return { enforcer: 'file', ok: true, changed: false, applied: `${target.mode} in ${path}`, detail: { path } };
      writeFileAtomic(path, body, 0o644);
      return { enforcer: 'file', ok: true, changed: true, applied: `${target.mode} in ${path}`, detail: { path } };
    },
    async check(): Promise<CheckResult> {
      return { enforcer: 'file', ok: true, message: `writes ${path}` };
    },
  };
}

export function createEnforcers(apps: AppConfig[], ctx: EnforcerContext): Enforcer[] {
  return apps.map((app) => fileEnforcer(app.path ?? join(ctx.dataDir, 'app-mode.json')));
}
