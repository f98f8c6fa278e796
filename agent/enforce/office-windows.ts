// Microsoft 365 Apps on Windows, switched through the registry with reg.exe
// (execFile-style, no shell). Query first, write only what differs. Which
// values each case wants is decided in office-windows-plan.ts (pure):
//
// full (device licence) = device-based licensing on, "Use Viewer Mode" off
//             in HKLM and in every loaded user hive
// read-only = "Use Viewer Mode" policy on (HKLM), device-based licensing off
//             (so Office does not run on a device licence devlic has
//             withdrawn; everyone else views and prints without activation
//             prompts), per-user values removed
// per user  = the device holds no licence but a signed-in person holds a user
//             licence: device-based licensing off, HKLM viewer mode off,
//             viewer mode on in the per-user policy hive
//             (HKU\<SID>\Software\Policies\...\Licensing) of each signed-in
//             person without a licence, removed from every other loaded hive;
//             machine-wide read-only instead when any signed-in person's SID
//             cannot be resolved (the result's detail names them).
//
// Registry names and their sources:
// - Click-to-Run: HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration,
//   value "<ProductReleaseId>.DeviceBasedLicensing" = "1" (REG_SZ).
//   Microsoft Learn, "Device-based licensing for Microsoft 365 Apps for
//   enterprise" (MicrosoftDocs/OfficeDocs-DeployOffice,
//   microsoft-365-apps/licensing-activation/device-based-licensing.md):
//   `reg add HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration /v
//   O365ProPlusRetail.DeviceBasedLicensing /t REG_SZ /d 1`. The installed
//   products are listed in the same key's ProductReleaseIds value.
// - Policy "Use a device-based license for Microsoft 365 Apps for
//   enterprise" (office16.admx, policy L_DBS, Computer Configuration >
//   Microsoft Office 2016 (Machine) > Licensing Settings):
//   HKLM\software\policies\microsoft\office\16.0\common\licensing
//   dbsproplus, REG_DWORD, 1 enabled / 0 disabled (ADMX registry mapping as
//   published by policypicker.app and admx-offsec-nl.pages.dev for L_DBS).
// - Policy "Use Viewer Mode" (office16.admx, policy L_ViewerMode, same
//   category): same key, value viewermode, REG_DWORD, 1 / 0 (admx.help,
//   office16.Office.Microsoft.Policies.Windows::L_ViewerMode; the value name
//   is also what Microsoft's vNextDiag2.ps1 reads). Behaviour: Microsoft
//   Learn "Overview of viewer mode for Microsoft 365 Apps"
//   (DeployOffice/overview-viewer-mode.md).
// - Per-user viewer mode (looked up again for issue 16): L_ViewerMode is a
//   Computer (machine) policy only. policypicker.app ("Use Viewer Mode",
//   scope Computer, hive HKLM), admx-offsec-nl.pages.dev and admx.help
//   (Registry Hive HKEY_LOCAL_MACHINE) publish no User variant, and Microsoft
//   Learn's viewer-mode overview names only Computer Configuration\...\
//   Microsoft Office 2016 (Machine)\Licensing Settings. No source found says
//   Office reads HKCU\Software\Policies\Microsoft\Office\16.0\Common\
//   Licensing\viewermode, so whether Office honours the per-user value is
//   UNPROVEN (not documented, and not tried on Windows for devlic: there is
//   no Windows machine in its CI). Why writing it is still safe: see
//   docs/design.md, "Per-user enforcement and its limits". The licensing
//   policies published for the user side (User Configuration > Microsoft
//   Office 2016 > Subscription Activation) are others, e.g. L_AutoOrgIDGetKey
//   "Automatically activate Office with federated organization credentials",
//   HKCU\software\policies\microsoft\office\16.0\common\autoorgidgetkey
//   (policypicker.app, scope User); Microsoft Learn's overview says to
//   disable it beside viewer mode on version 2204 and older. devlic does not
//   write it (it would stop a licensed person activating too).
// - Who a loaded hive belongs to: HKU\<SID>\Volatile Environment USERNAME and
//   USERDOMAIN (written at sign-in, but in the user's own writable hive), so
//   it is checked against HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\
//   ProfileList\<SID> ProfileImagePath (administrators only): the profile
//   folder must be the user's (`alice` or `alice.<suffix>`). Only person
//   hives (S-1-5-21-…, Entra ID S-1-12-1-…) are read or written.
// Values devlic turns off are deleted rather than set to 0: "disabled" and
// "not configured" mean the same for both policies, and deleting leaves no
// trace after devlic is uninstalled. devlic owns viewermode in every person
// hive as it owns it in HKLM: a value put there by someone else is removed
// when devlic does not want it.
import { promises as fsp } from 'node:fs';
import { win32 } from 'node:path';
import Type from 'typebox';
import type { ApplyResult, CheckResult, EnforcementTarget, Enforcer, VerifyResult } from './types.ts';
import { describeFailure, runFile } from '../../shared/run.ts';
import { AbsPath, defineEnforcer, TimeoutMs } from './descriptor.ts';
import {
  C2R_KEY, POLICY_KEY, licensingCase, parseLoadedSids, parseRegQuery, planWindows, profileKey, registryDrift, tightens,
  userPolicyKey, volatileEnvKey, type HiveFacts, type RegValue, type WindowsPlan,
} from './office-windows-plan.ts';

export { C2R_KEY, POLICY_KEY, parseRegQuery, registryDrift, userPolicyKey, type RegValue, type Want } from './office-windows-plan.ts';
const DEFAULT_PRID = 'O365ProPlusRetail';

/** The `apps` entry. Nothing to set for people: the per-user viewer mode follows the target's per-person modes. */
export const OfficeWindowsConfig = Type.Object({
  name: Type.Literal('office-windows'),
  /** Absolute path of reg.exe; default %SystemRoot%\System32\reg.exe. */
  regExe: Type.Optional(AbsPath),
  /** How device-based licensing is switched; default both. */
  method: Type.Optional(Type.Union([Type.Literal('policy'), Type.Literal('click-to-run'), Type.Literal('both')])),
  /** Click-to-Run products; default: the installed O365ProPlus* ids, else O365ProPlusRetail. */
  productReleaseIds: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9]{2,64}$' }), { minItems: 1, maxItems: 16 })),
  timeoutMs: Type.Optional(TimeoutMs),
}, { additionalProperties: false });
export type OfficeWindowsConfig = Type.Static<typeof OfficeWindowsConfig>;

interface Plan extends WindowsPlan {
  current: Map<string, Map<string, RegValue>>;
  prids: string[];
  c2rInstalled: boolean | undefined;
  errors: string[];
}

export function defaultRegExe(): string {
  return win32.join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'reg.exe');
}

export function createOfficeWindowsEnforcer(
  config: OfficeWindowsConfig,
  ctx: { platform: NodeJS.Platform; log?: (event: string, fields: object) => void },
): Enforcer {
  const name = 'office-windows';
  const reg = config.regExe ?? defaultRegExe();
  const method = config.method ?? 'both';
  const timeoutMs = config.timeoutMs ?? 15_000;

  // /reg:64: always the 64-bit view, where Click-to-Run keeps its
  // configuration, whatever the bitness of the process calling reg.exe.
  const run = (args: string[]) => runFile(reg, [...args, '/reg:64'], { timeoutMs });

  /** `reg query KEY` output; null when the key does not exist (reg exits 1). */
  async function queryText(key: string, commands: string[][]): Promise<string | null> {
    commands.push(['query', key, '/reg:64']);
    const r = await run(['query', key]);
    if (r.code === 0) return r.stdout;
    // reg.exe exits 1 for "unable to find the specified registry key"; its
    // message is localized, so the exit code is what we rely on. A real
    // failure to read surfaces when we then try to write.
    if (r.code === 1 && !r.timedOut) return null;
    throw new Error(describeFailure(`reg query ${key}`, r, timeoutMs));
  }

  /** Values of a key; null when the key does not exist. */
  async function query(key: string, commands: string[][]): Promise<Map<string, RegValue> | null> {
    const text = await queryText(key, commands);
    return text === null ? null : parseRegQuery(text);
  }

  /** Who each loaded person hive belongs to (read only for the per-user case). */
  async function hiveFacts(sid: string, commands: string[][]): Promise<HiveFacts> {
    const env = await query(volatileEnvKey(sid), commands);
    const profile = await query(profileKey(sid), commands);
    return {
      sid,
      userName: env?.get('username')?.data || undefined,
      userDomain: env?.get('userdomain')?.data || undefined,
      profilePath: profile?.get('profileimagepath')?.data || undefined,
    };
  }

  /** Reads the keys devlic writes (and, for the per-user case, who each hive is) and works out the values wanted (no writes). */
  async function plan(target: EnforcementTarget, commands: string[][]): Promise<Plan> {
    const errors: string[] = [];
    const current = new Map<string, Map<string, RegValue>>([[POLICY_KEY, (await query(POLICY_KEY, commands)) ?? new Map()]]);
    let prids: string[] = [];
    let c2rInstalled: boolean | undefined;
    if (method !== 'policy') {
      const c2r = await query(C2R_KEY, commands);
      c2rInstalled = c2r !== null;
      if (c2r) {
        current.set(C2R_KEY, c2r);
        const installed = (c2r.get('productreleaseids')?.data ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const m365 = installed.filter((p) => /^O365ProPlus/i.test(p));
        prids = config.productReleaseIds ?? (m365.length ? m365 : [DEFAULT_PRID]);
      } else if (method === 'click-to-run') {
        errors.push(`Click-to-Run is not installed (${C2R_KEY} not found)`);
      }
    }
    // Every loaded person hive, whatever the case: per-user values devlic
    // wrote are found and removed here once the case no longer wants them,
    // and a hive that loads without a reported sign-in is covered by the
    // next drift check (verify runs this too).
    const sids = parseLoadedSids((await queryText('HKU', commands)) ?? '');
    const perUser = licensingCase(target).kind === 'per-user';
    const hives: HiveFacts[] = [];
    for (const sid of sids) {
      if (perUser) hives.push(await hiveFacts(sid, commands));
      current.set(userPolicyKey(sid), (await query(userPolicyKey(sid), commands)) ?? new Map());
    }
    const p = planWindows({ target, method, prids, sids, hives });
    return { ...p, current, prids, c2rInstalled, errors };
  }

  function summary(p: Plan): string {
    const parts: string[] = [];
    if (method !== 'click-to-run') parts.push('policy dbsproplus');
    if (method !== 'policy') parts.push(p.c2rInstalled ? `Click-to-Run ${p.prids.map((x) => `${x}.DeviceBasedLicensing`).join(', ')}` : 'Click-to-Run not installed');
    const dbs = parts.join('; ');
    const restart = 'Office apps pick this up when restarted';
    if (p.kind === 'device') return `full: device-based licensing on (${dbs}), Use Viewer Mode policy off; ${restart}`;
    if (p.kind === 'per-user') {
      const who = p.viewerSids.length ? `viewer mode on in the per-user policy hive of ${p.viewerSids.join(', ')}` : 'nobody without a licence signed in';
      return `per user: device-based licensing off (${dbs} removed), machine Use Viewer Mode policy off, ${who}; people with a user licence activate with it; ${restart}`;
    }
    const why = p.fallback ? ` (machine-wide because ${p.fallback})` : '';
    return `read-only: Use Viewer Mode policy on, device-based licensing off (${dbs} removed)${why}; ${restart}`;
  }

  return {
    name,
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      if (ctx.platform !== 'win32') {
        return { enforcer: name, ok: false, changed: false, applied: 'nothing: not Windows', error: `office-windows needs Windows (this is ${ctx.platform})` };
      }
      const commands: string[][] = [];
      let changed = false;
      try {
        const p = await plan(target, commands);
        const { current, errors } = p;
        let failed = false;
        for (const w of registryDrift(current, p.wants)) {
          // Writes come tightening first (orderWants): after a failure the
          // tightening ones still run, the loosening ones do not.
          if (failed && !tightens(w)) {
            errors.push(`reg ${w.value ? 'add' : 'delete'} ${w.key} ${w.name} not run after the failure above`);
            continue;
          }
          const cur = current.get(w.key)?.get(w.name.toLowerCase());
          const args = w.value
            ? ['add', w.key, '/v', w.name, '/t', w.value.type, '/d', w.value.data, '/f']
            : ['delete', w.key, '/v', cur?.name ?? w.name, '/f'];
          commands.push([...args, '/reg:64']);
          const r = await run(args);
          if (r.code === 0 && !r.timedOut) changed = true;
          else {
            errors.push(describeFailure(`reg ${args[0]} ${w.key} ${w.name}`, r, timeoutMs));
            failed = true;
          }
        }
        ctx.log?.('enforce.office-windows', { mode: target.mode, case: p.kind, changed, errors: errors.length, unresolved: p.unresolved });
        const detail = {
          reg, method, productReleaseIds: p.prids, clickToRunInstalled: p.c2rInstalled, commands,
          case: p.kind, viewerModeSids: p.viewerSids, ...(p.unresolved.length ? { unresolvedUsers: p.unresolved } : {}), ...(p.fallback ? { fallback: p.fallback } : {}),
        };
        const applied = summary(p);
        if (errors.length) return { enforcer: name, ok: false, changed, applied: `unknown: ${target.mode} not fully applied`, detail, error: errors.join('; ') };
        return { enforcer: name, ok: true, changed, applied, detail };
      } catch (e) {
        return { enforcer: name, ok: false, changed, applied: `unknown: ${target.mode} not applied`, detail: { reg, commands }, error: (e as Error).message };
      }
    },

    async verify(target: EnforcementTarget): Promise<VerifyResult> {
      // Not Windows: apply() reports that, once.
      if (ctx.platform !== 'win32') return { enforcer: name, drift: [] };
      try {
        const { wants, current } = await plan(target, []);
        return { enforcer: name, drift: registryDrift(current, wants).map((w) => `${w.key}\\${w.name} ${w.value ? 'not set as wanted' : 'present'}`) };
      } catch (e) {
        return { enforcer: name, drift: [`registry unreadable: ${(e as Error).message}`] };
      }
    },

    async check(): Promise<CheckResult> {
      if (ctx.platform !== 'win32') return { enforcer: name, ok: false, message: `office-windows needs Windows (this is ${ctx.platform})` };
      try {
        await fsp.access(reg);
      } catch {
        return { enforcer: name, ok: false, message: `reg.exe not found at ${reg}` };
      }
      try {
        const c2r = await query(C2R_KEY, []);
        if (!c2r) return { enforcer: name, ok: false, message: `reg.exe works; Microsoft 365 Apps (Click-to-Run) not installed` };
        const ids = c2r.get('productreleaseids')?.data ?? 'none';
        return { enforcer: name, ok: true, message: `reg.exe works; Click-to-Run products: ${ids}` };
      } catch (e) {
        return { enforcer: name, ok: false, message: (e as Error).message };
      }
    },
  };
}

export const officeWindowsEnforcer = defineEnforcer({
  name: 'office-windows',
  schema: OfficeWindowsConfig,
  create: (cfg, ctx) => createOfficeWindowsEnforcer(cfg, ctx),
  // The registry only: no folder to open in a sandbox.
  writablePaths: () => [],
});
