// Microsoft 365 Apps on Windows, switched through the registry with reg.exe
// (execFile-style, no shell). Query first, write only what differs.
//
// full      = device-based licensing on, "Use Viewer Mode" policy off
// read-only = "Use Viewer Mode" policy on, device-based licensing off (so
//             Office does not run on a device licence devlic has withdrawn;
//             users with a licence of their own can still activate, everyone
//             else views and prints without activation prompts)
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
// Values devlic turns off are deleted rather than set to 0: "disabled" and
// "not configured" mean the same for both policies, and deleting leaves no
// trace after devlic is uninstalled.
import { promises as fsp } from 'node:fs';
import { win32 } from 'node:path';
import Type from 'typebox';
import type { ApplyResult, CheckResult, EnforcementTarget, Enforcer, VerifyResult } from './types.ts';
import { describeFailure, runFile } from '../../shared/run.ts';
import { AbsPath, defineEnforcer, TimeoutMs } from './descriptor.ts';

export const POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Office\\16.0\\Common\\Licensing';
export const C2R_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration';
const DEFAULT_PRID = 'O365ProPlusRetail';

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

type RegType = 'REG_DWORD' | 'REG_SZ';
export interface RegValue { name: string; type: string; data: string }
export interface Want { key: string; name: string; value: { type: RegType; data: string } | null }
interface Plan {
  wants: Want[];
  current: Map<string, Map<string, RegValue>>;
  prids: string[];
  c2rInstalled: boolean | undefined;
  errors: string[];
}

/** Parses `reg query KEY` output: the key's own values, by lower-cased name. */
export function parseRegQuery(stdout: string): Map<string, RegValue> {
  const out = new Map<string, RegValue>();
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (m) out.set(m[1].toLowerCase(), { name: m[1], type: m[2], data: (m[3] ?? '').trimEnd() });
  }
  return out;
}

function sameValue(cur: RegValue | undefined, want: Want['value']): boolean {
  if (!want) return cur === undefined;
  if (!cur || cur.type !== want.type) return false;
  if (want.type === 'REG_DWORD') return Number.parseInt(cur.data, cur.data.startsWith('0x') ? 16 : 10) === Number(want.data);
  return cur.data === want.data;
}

/** The wanted values that the registry read back does not hold (value names are case-insensitive). */
export function registryDrift(current: ReadonlyMap<string, ReadonlyMap<string, RegValue>>, wants: readonly Want[]): Want[] {
  return wants.filter((w) => !sameValue(current.get(w.key)?.get(w.name.toLowerCase()), w.value));
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

  /** Values of a key; null when the key does not exist (reg exits 1). */
  async function query(key: string, commands: string[][]): Promise<Map<string, RegValue> | null> {
    commands.push(['query', key, '/reg:64']);
    const r = await run(['query', key]);
    if (r.code === 0) return parseRegQuery(r.stdout);
    // reg.exe exits 1 for "unable to find the specified registry key"; its
    // message is localized, so the exit code is what we rely on. A real
    // failure to read surfaces when we then try to write.
    if (r.code === 1 && !r.timedOut) return null;
    throw new Error(describeFailure(`reg query ${key}`, r, timeoutMs));
  }

  /** Reads the keys devlic writes and works out the values `mode` wants (no writes). */
  async function plan(readOnly: boolean, commands: string[][]): Promise<Plan> {
    const errors: string[] = [];
    const policy = (await query(POLICY_KEY, commands)) ?? new Map<string, RegValue>();
    const wants: Want[] = [
      { key: POLICY_KEY, name: 'viewermode', value: readOnly ? { type: 'REG_DWORD', data: '1' } : null },
    ];
    if (method !== 'click-to-run') {
      wants.push({ key: POLICY_KEY, name: 'dbsproplus', value: readOnly ? null : { type: 'REG_DWORD', data: '1' } });
    }
    const current = new Map<string, Map<string, RegValue>>([[POLICY_KEY, policy]]);
    let prids: string[] = [];
    let c2rInstalled: boolean | undefined;
    if (method !== 'policy') {
      const c2r = await query(C2R_KEY, commands);
      c2rInstalled = c2r !== null;
      if (c2r) {
        current.set(C2R_KEY, c2r);
        const installed = (c2r.get('productreleaseids')?.data ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        prids = config.productReleaseIds
          ?? (installed.filter((p) => /^O365ProPlus/i.test(p)).length ? installed.filter((p) => /^O365ProPlus/i.test(p)) : [DEFAULT_PRID]);
        for (const p of prids) {
          wants.push({ key: C2R_KEY, name: `${p}.DeviceBasedLicensing`, value: readOnly ? null : { type: 'REG_SZ', data: '1' } });
        }
      } else if (method === 'click-to-run') {
        errors.push(`Click-to-Run is not installed (${C2R_KEY} not found)`);
      }
    }
    return { wants, current, prids, c2rInstalled, errors };
  }

  return {
    name,
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      if (ctx.platform !== 'win32') {
        return { enforcer: name, ok: false, changed: false, applied: 'nothing: not Windows', error: `office-windows needs Windows (this is ${ctx.platform})` };
      }
      const commands: string[][] = [];
      let changed = false;
      const readOnly = target.mode === 'read-only';
      try {
        const { wants, current, prids, c2rInstalled, errors } = await plan(readOnly, commands);
        for (const w of registryDrift(current, wants)) {
          const cur = current.get(w.key)?.get(w.name.toLowerCase());
          const args = w.value
            ? ['add', w.key, '/v', w.name, '/t', w.value.type, '/d', w.value.data, '/f']
            : ['delete', w.key, '/v', cur?.name ?? w.name, '/f'];
          commands.push([...args, '/reg:64']);
          const r = await run(args);
          if (r.code === 0 && !r.timedOut) changed = true;
          else errors.push(describeFailure(`reg ${args[0]} ${w.key} ${w.name}`, r, timeoutMs));
        }
        ctx.log?.('enforce.office-windows', { mode: target.mode, changed, errors: errors.length });
        const detail = { reg, method, productReleaseIds: prids, clickToRunInstalled: c2rInstalled, commands };
        const parts: string[] = [];
        if (method !== 'click-to-run') parts.push('policy dbsproplus');
        if (method !== 'policy') parts.push(c2rInstalled ? `Click-to-Run ${prids.map((p) => `${p}.DeviceBasedLicensing`).join(', ')}` : 'Click-to-Run not installed');
        const dbs = parts.join('; ');
        const applied = readOnly
          ? `read-only: Use Viewer Mode policy on, device-based licensing off (${dbs} removed); Office apps pick this up when restarted`
          : `full: device-based licensing on (${dbs}), Use Viewer Mode policy off; Office apps pick this up when restarted`;
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
        const { wants, current } = await plan(target.mode === 'read-only', []);
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
