// The Windows Installer package of the agent (devlic-agent-<version>-x64.msi),
// built offline on Linux with wixl (Debian package wixl, from msitools) and
// completed with msibuild for the tables wixl does not write.
//
// What it does on a Windows machine: the program folder as `install` lays it
// out (%ProgramFiles%\devlic: devlic-agent.exe, better_sqlite3.node, the WinSW
// service host devlic-agent-service.exe and its XML), the data folder
// %ProgramData%\devlic for SYSTEM and Administrators only (the same ACL as
// windows.ts restrictDataDir, as SDDL in MsiLockPermissionsEx), and the
// devlic-agent service (auto start, LocalSystem, restarted on failure like
// scConfigure). A first install does not start the service: the device is
// not enrolled yet. `devlic-agent.exe install --server URL --token-file F`,
// run from the program folder afterwards, writes the config, enrolls and
// starts it. An upgrade (a newer .msi over an older one) starts it again.
// Uninstall stops and deletes the service and removes the program folder;
// the data folder (the device's keys) stays, as with `uninstall` without --purge.
//
// The .wxs text and the extra tables are pure (tested without processes);
// buildMsi runs wixl and msibuild.
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../../shared/cli.ts';
import { agentLayout, ADDON } from '../layout.ts';
import { WINSW_EXE, winswXml } from '../platforms/windows.ts';

const run = promisify(execFile);

/** Never changes: Windows Installer finds earlier devlic agent packages by it (MajorUpgrade). */
export const UPGRADE_CODE = '{6F1D3C2A-5B7E-4A39-9C41-2D8E0B7A1F30}';

/**
 * One component per file, each with a GUID that stays the same across
 * versions (Windows Installer's component rules: same key path, same GUID).
 */
export const COMPONENTS = {
  AgentExe: '{3E0C7C51-1A52-4C8E-9E3B-6A1B0F2D4C01}',
  Addon: '{3E0C7C51-1A52-4C8E-9E3B-6A1B0F2D4C02}',
  ServiceHost: '{3E0C7C51-1A52-4C8E-9E3B-6A1B0F2D4C03}',
  ServiceXml: '{3E0C7C51-1A52-4C8E-9E3B-6A1B0F2D4C04}',
  DataDir: '{3E0C7C51-1A52-4C8E-9E3B-6A1B0F2D4C05}',
  UpgradeStart: '{3E0C7C51-1A52-4C8E-9E3B-6A1B0F2D4C06}',
} as const;

export const SERVICE_XML = 'devlic-agent-service.xml';

/**
 * The data folder's security descriptor: protected (no inherited entries,
 * icacls /inheritance:r) and full control, inherited by files and folders
 * (OI)(CI), for LocalSystem (SY, S-1-5-18) and Administrators (BA, S-1-5-32-544) only.
 */
export const DATA_DIR_SDDL = 'D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)';

/** MSI ProductVersion: major.minor.build, numbers only (major, minor < 256; build < 65536). */
export function msiVersion(version: string): string {
  const m = version.match(/^(\d+)\.(\d+)\.(\d+)$/);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255 || Number(m[3]) > 65535) {
    throw new UsageError(`version '${version}' cannot be an MSI ProductVersion (major.minor.build, at most 255.255.65535)`);
  }
  return version;
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface WxsInput {
  version: string;
  /**
   * Folder holding devlic-agent.exe, better_sqlite3.node and devlic-agent-service.exe,
   * relative to the .wxs (wixl cannot open an absolute Source path).
   */
  sourceDir: string;
  /** The WinSW XML to install beside the service host, relative to the .wxs. */
  serviceXml: string;
}

export function agentWxs(w: WxsInput): string {
  const L = agentLayout('win32');
  const src = (name: string) => attr(name === SERVICE_XML ? w.serviceXml : `${w.sourceDir}/${name}`);
  const file = (component: keyof typeof COMPONENTS, name: string, extra = '') => `          <Component Id="${component}" Guid="${COMPONENTS[component]}" Win64="yes">
            <File Id="${component}" Name="${name}" Source="${src(name)}" KeyPath="yes"/>${extra}
          </Component>`;
  // Same settings as scDefine: own process, automatic start, LocalSystem.
  const service = `
            <ServiceInstall Id="AgentService" Name="${attr(L.serviceName)}" DisplayName="devlic agent" Description="devlic device agent: device-based licensing for shared devices" Type="ownProcess" Start="auto" Account="LocalSystem" ErrorControl="normal" Vital="yes"/>
            <ServiceControl Id="AgentService" Name="${attr(L.serviceName)}" Stop="both" Remove="uninstall" Wait="yes"/>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<!-- devlic agent for Windows; written by installer/build/msi.ts, built with wixl. -->
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="devlic agent" Language="1033" Version="${msiVersion(w.version)}" Manufacturer="devlic" UpgradeCode="${UPGRADE_CODE}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="devlic device agent" Comments="Device-based licensing for shared laptops and tablets"/>
    <MajorUpgrade DowngradeErrorMessage="A newer devlic agent is already installed."/>
    <Media Id="1" Cabinet="devlic.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="devlic">
${file('AgentExe', 'devlic-agent.exe')}
${file('Addon', ADDON)}
${file('ServiceHost', WINSW_EXE, service)}
${file('ServiceXml', SERVICE_XML)}
          <Component Id="UpgradeStart" Guid="${COMPONENTS.UpgradeStart}" Win64="yes">
            <CreateFolder/>
            <ServiceControl Id="AgentUpgradeStart" Name="${attr(L.serviceName)}" Start="install" Wait="no"/>
          </Component>
        </Directory>
      </Directory>
      <Directory Id="CommonAppDataFolder">
        <Directory Id="DATADIR" Name="devlic">
          <Component Id="DataDir" Guid="${COMPONENTS.DataDir}" Win64="yes">
            <CreateFolder/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Agent" Title="devlic agent" Level="1">
${Object.keys(COMPONENTS).map((c) => `      <ComponentRef Id="${c}"/>`).join('\n')}
    </Feature>
  </Product>
</Wix>
`;
}

/** An .idt file (msibuild -i): column names, column types, table name and keys, then rows. */
function idt(columns: string[], types: string[], table: string, keys: string[], rows: string[][]): string {
  return [columns, types, [table, ...keys], ...rows].map((r) => r.join('\t')).join('\r\n') + '\r\n';
}

/**
 * Tables wixl cannot write, imported with msibuild. All need Windows
 * Installer 5.0 (Windows 7 and later; the Package says InstallerVersion 500).
 */
export function extraTables(): Record<string, string> {
  const name = agentLayout('win32').serviceName;
  return {
    // Applied by the CreateFolders action to the data folder.
    MsiLockPermissionsEx: idt(
      ['MsiLockPermissionsEx', 'LockObject', 'Table', 'SDDLText', 'Condition'], ['s72', 's72', 's32', 's0', 'S255'],
      'MsiLockPermissionsEx', ['MsiLockPermissionsEx'], [['DataDirAcl', 'DATADIR', 'CreateFolder', DATA_DIR_SDDL, '']],
    ),
    // scConfigure's `sc failure`: restart after 5 s, 5 s, then every 30 s; forget failures after a day.
    // Event 1 = on install (and repair); actions 1 = restart.
    MsiServiceConfigFailureActions: idt(
      ['MsiServiceConfigFailureActions', 'Name', 'Event', 'ResetPeriod', 'RebootMessage', 'Command', 'Actions', 'DelayActions', 'Component_'],
      ['s72', 's255', 'i2', 'I4', 'L255', 'L255', 'S255', 'S255', 's72'],
      'MsiServiceConfigFailureActions', ['MsiServiceConfigFailureActions'],
      [['AgentRestart', name, '1', '86400', '[~]', '[~]', '1[~]1[~]1', '5000[~]5000[~]30000', 'ServiceHost']],
    ),
    // scConfigure's `sc failureflag 1`: also when it exits with an error. ConfigType 4 = SERVICE_CONFIG_FAILURE_ACTIONS_FLAG.
    MsiServiceConfig: idt(
      ['MsiServiceConfig', 'Name', 'Event', 'ConfigType', 'Argument', 'Component_'], ['s72', 's255', 'i2', 'i4', 'S0', 's72'],
      'MsiServiceConfig', ['MsiServiceConfig'], [['AgentFailureFlag', name, '1', '4', '1', 'ServiceHost']],
    ),
  };
}

/**
 * SQL run with msibuild after the tables are in. The two service-config
 * tables are read by the MsiConfigureServices action, which wixl does not
 * sequence. And wixl writes no component conditions: UpgradeStart, which
 * starts the service again, is installed only when the .msi replaces an
 * earlier version (the old one's uninstall stopped and deleted the service;
 * a first install leaves it stopped until `install` enrolls the device).
 */
export const SEQUENCE_QUERY = "INSERT INTO `InstallExecuteSequence` (`Action`, `Condition`, `Sequence`) VALUES ('MsiConfigureServices', 'VersionNT >= 600', 5850)";
export const CONDITION_QUERY = "UPDATE `Component` SET `Condition` = 'WIX_UPGRADE_DETECTED' WHERE `Component` = 'UpgradeStart'";

export interface MsiSpec {
  version: string;
  /** The Windows release folder: devlic-agent.exe, better_sqlite3.node, devlic-agent-service.exe. */
  dist: string;
  workDir: string;
  out: string;
}

/** True when this machine can build the .msi (Debian: apt-get install wixl msitools). */
export function msiToolsMissing(exists: (p: string) => boolean): string | undefined {
  const absent = ['/usr/bin/wixl', '/usr/bin/msibuild'].filter((p) => !exists(p));
  return absent.length ? `${absent.join(' and ')} not found (apt-get install wixl msitools)` : undefined;
}

export async function buildMsi(spec: MsiSpec): Promise<string> {
  const dir = join(spec.workDir, 'msi');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // WinSW reads the XML beside it; the paths in it are the msi's fixed folders.
  await writeFile(join(dir, SERVICE_XML), winswXml(agentLayout('win32')));
  const wxs = join(dir, 'devlic-agent.wxs');
  await writeFile(wxs, agentWxs({ version: spec.version, sourceDir: relative(dir, spec.dist), serviceXml: SERVICE_XML }));
  await rm(spec.out, { force: true });
  await run('wixl', ['--arch', 'x64', '--output', spec.out, wxs]);
  const args: string[] = [spec.out];
  for (const [table, text] of Object.entries(extraTables())) {
    const f = join(dir, `${table}.idt`);
    await writeFile(f, text);
    args.push('-i', f);
  }
  await run('msibuild', [...args, '-q', SEQUENCE_QUERY, '-q', CONDITION_QUERY]);
  await rm(dir, { recursive: true, force: true });
  return spec.out;
}
