// macOS counterpart of office-windows, and an honest one: Microsoft has no
// device-based licensing for Office on the Mac (docs/design.md: "Microsoft has no Mac
// support") and documents no preference that puts Office for Mac in a
// viewer or read-only mode. Microsoft's documented suite-wide keys for the
// com.microsoft.office domain (Microsoft Learn, "Set suite-wide preferences
// for Office for Mac", MicrosoftDocs/OfficeDocs-DeployOffice,
// microsoft-365-apps/mac/preferences-office.md) cover sign-in, first-run,
// fonts, file locations and installer exclusions, nothing about licensing.
// So this enforcer does not pretend to switch Microsoft Office. It publishes
// the mode as a system preference that scripts, Jamf/Intune extension
// attributes or login hooks can read:
//     defaults read /Library/Preferences/com.devlic.appmode Mode
// and it says "signal only" in its status. On a Mac, the office suite that
// devlic really switches is LibreOffice (the libreoffice enforcer).
//
// Written with /usr/bin/defaults (not by editing the plist) so cfprefsd's
// cache stays coherent. Not written into /Library/Managed Preferences: that
// folder belongs to the MDM client, which rebuilds it from installed
// profiles; and not into com.microsoft.office, where a key Office never
// reads would only mislead administrators.
import { promises as fsp } from 'node:fs';
import Type from 'typebox';
import type { ApplyResult, CheckResult, EnforcementTarget, Enforcer, VerifyResult } from './types.ts';
import { valuesDrift } from './drift.ts';
import { describeFailure, runFile } from '../../shared/run.ts';
import { AbsPath, defineEnforcer, TimeoutMs } from './descriptor.ts';

export const DEFAULT_DOMAIN = '/Library/Preferences/com.devlic.appmode';

export const OfficeMacosConfig = Type.Object({
  name: Type.Literal('office-macos'),
  /** Absolute path of the defaults tool; default /usr/bin/defaults. */
  defaultsExe: Type.Optional(AbsPath),
  /** Preference file as an absolute path without .plist; default /Library/Preferences/com.devlic.appmode. */
  domain: Type.Optional(AbsPath),
  timeoutMs: Type.Optional(TimeoutMs),
}, { additionalProperties: false });
export type OfficeMacosConfig = Type.Static<typeof OfficeMacosConfig>;

const SIGNAL_NOTE = 'signal only: Microsoft Office for Mac has no device-based licensing or viewer-mode setting, so Office itself is not switched';

export function createOfficeMacosEnforcer(
  config: OfficeMacosConfig,
  ctx: { platform: NodeJS.Platform; log?: (event: string, fields: object) => void },
): Enforcer {
  const name = 'office-macos';
  const exe = config.defaultsExe ?? '/usr/bin/defaults';
  const domain = config.domain ?? DEFAULT_DOMAIN;
  const timeoutMs = config.timeoutMs ?? 15_000;

  /** A string key's value; undefined when it is not set (defaults exits 1). */
  async function read(key: string, commands: string[][]): Promise<string | undefined> {
    const args = ['read', domain, key];
    commands.push(args);
    const r = await runFile(exe, args, { timeoutMs });
    if (r.code === 0) return r.stdout.replace(/\n$/, '');
    if (r.code === 1 && !r.timedOut) return undefined;
    throw new Error(describeFailure(`defaults read ${domain} ${key}`, r, timeoutMs));
  }

  return {
    name,
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      if (ctx.platform !== 'darwin') {
        return { enforcer: name, ok: false, changed: false, applied: 'nothing: not macOS', error: `office-macos needs macOS (this is ${ctx.platform})` };
      }
      const commands: string[][] = [];
      const errors: string[] = [];
      let changed = false;
      try {
        const wanted: Array<[string, string]> = [['Mode', target.mode], ['Reason', target.reason]];
        for (const [key, value] of wanted) {
          if ((await read(key, commands)) === value) continue;
          const args = ['write', domain, key, '-string', value];
          commands.push(args);
          const r = await runFile(exe, args, { timeoutMs });
          if (r.code === 0 && !r.timedOut) changed = true;
          else errors.push(describeFailure(`defaults write ${domain} ${key}`, r, timeoutMs));
        }
      } catch (e) {
        errors.push((e as Error).message);
      }
      ctx.log?.('enforce.office-macos', { mode: target.mode, changed, errors: errors.length });
      const detail = { defaults: exe, domain, commands, enforcesMicrosoftOffice: false };
      if (errors.length) {
        return { enforcer: name, ok: false, changed, applied: `unknown: ${target.mode} signal not written`, detail, error: errors.join('; ') };
      }
      return { enforcer: name, ok: true, changed, applied: `${target.mode} published in ${domain} (Mode); ${SIGNAL_NOTE}`, detail };
    },

    async verify(target: EnforcementTarget): Promise<VerifyResult> {
      // Not macOS: apply() reports that, once.
      if (ctx.platform !== 'darwin') return { enforcer: name, drift: [] };
      try {
        const want = [['Mode', target.mode], ['Reason', target.reason]] as const;
        const current = new Map<string, string | undefined>();
        for (const [key] of want) current.set(key, await read(key, []));
        return { enforcer: name, drift: valuesDrift(domain, current, want) };
      } catch (e) {
        return { enforcer: name, drift: [`${domain} unreadable: ${(e as Error).message}`] };
      }
    },

    async check(): Promise<CheckResult> {
      if (ctx.platform !== 'darwin') return { enforcer: name, ok: false, message: `office-macos needs macOS (this is ${ctx.platform})` };
      try {
        await fsp.access(exe, fsp.constants.X_OK);
      } catch {
        return { enforcer: name, ok: false, message: `${exe} not found or not executable` };
      }
      return { enforcer: name, ok: true, message: `can publish the mode in ${domain} with ${exe}; ${SIGNAL_NOTE}` };
    },
  };
}

export const officeMacosEnforcer = defineEnforcer({
  name: 'office-macos',
  schema: OfficeMacosConfig,
  create: (cfg, ctx) => createOfficeMacosEnforcer(cfg, ctx),
  // macOS has no systemd sandbox; launchd leaves /Library/Preferences writable to root.
  writablePaths: () => [],
});
