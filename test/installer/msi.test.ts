// The Windows .msi built for real with wixl and msibuild (installer/build/msi.ts),
// then read back with msitools: the tables Windows Installer acts on
// (Directory, Component, File, CreateFolder, ServiceInstall, ServiceControl,
// MsiLockPermissionsEx, MsiServiceConfig*, InstallExecuteSequence) and the
// files in its cabinet. There is no Windows machine here: what Windows
// Installer then does with these tables is not run (see installer/INSTALL.md).
// The payload is a stand-in release folder (a Windows executable cannot be
// built offline here: installer/build/targets.ts); the msi's tables do not
// depend on what the files contain, and the cabinet is checked byte for byte.
// Skips loudly without wixl/msitools; fails then under DEVLIC_REQUIRE_REAL_APPS=1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMsi, COMPONENTS, DATA_DIR_SDDL, msiToolsMissing, UPGRADE_CODE } from '../../installer/build/msi.ts';
import { agentLayout } from '../../installer/layout.ts';
import { winswXml } from '../../installer/platforms/windows.ts';
import { tempDir } from '../helpers/processes.ts';
import { REQUIRED, skipLoudly } from './helpers.ts';

const missing = msiToolsMissing(existsSync) ?? (existsSync('/usr/bin/msiinfo') && existsSync('/usr/bin/msiextract') ? undefined : 'msiinfo/msiextract not found (apt-get install msitools)');
const skip = skipLoudly('building the Windows .msi with wixl', missing);

/** One table as rows of named fields (msiinfo export: names, types, keys, then rows). */
function table(msi: string, name: string): Array<Record<string, string>> {
  const lines = execFileSync('msiinfo', ['export', msi, name], { encoding: 'utf8' }).split(/\r?\n/).filter((l) => l !== '');
  const cols = lines[0]!.split('\t');
  return lines.slice(3).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
}

describe.skipIf(skip)('the .msi, built with wixl and read back with msitools', () => {
  let msi = '';
  let payload: Record<string, string> = {};
  beforeAll(async () => {
    const dist = tempDir('msi-dist');
    payload = {
      'devlic-agent.exe': 'stand-in for the agent executable\n',
      'better_sqlite3.node': 'stand-in for the addon\n',
      'devlic-agent-service.exe': 'stand-in for WinSW\n',
    };
    for (const [n, c] of Object.entries(payload)) writeFileSync(join(dist, n), c);
    msi = await buildMsi({ version: '0.1.0', dist, workDir: tempDir('msi-work'), out: join(dist, 'devlic-agent-0.1.0-win32-x64.msi') });
  }, 120_000);

  it('is a Windows Installer 5 package for x64 with the upgrade code', () => {
    const info = execFileSync('msiinfo', ['suminfo', msi], { encoding: 'utf8' });
    expect(info).toMatch(/^Template: x64;1033$/m);
    expect(info).toMatch(/^Version: 500 /m);
    const props = Object.fromEntries(table(msi, 'Property').map((r) => [r.Property, r.Value]));
    expect(props).toMatchObject({ UpgradeCode: UPGRADE_CODE, ProductVersion: '0.1.0', ProductName: 'devlic agent', Manufacturer: 'devlic' });
    expect(table(msi, 'Upgrade').map((r) => r.ActionProperty).sort()).toEqual(['WIX_DOWNGRADE_DETECTED', 'WIX_UPGRADE_DETECTED']);
  });

  it('lays out the program folder in Program Files and the data folder in ProgramData', () => {
    const dirs = Object.fromEntries(table(msi, 'Directory').map((r) => [r.Directory, [r.Directory_Parent, r.DefaultDir]]));
    expect(dirs).toMatchObject({ INSTALLDIR: ['ProgramFiles64Folder', 'devlic'], DATADIR: ['CommonAppDataFolder', 'devlic'] });
    const comps = table(msi, 'Component');
    expect(comps.map((c) => [c.Component, c.ComponentId, c.Directory_]).sort()).toEqual(
      Object.entries(COMPONENTS).map(([id, guid]) => [id, guid, id === 'DataDir' ? 'DATADIR' : 'INSTALLDIR']).sort(),
    );
    // Only on an upgrade (FindRelatedProducts found an older version): see the next tests.
    expect(comps.filter((c) => c.Condition).map((c) => [c.Component, c.Condition])).toEqual([['UpgradeStart', 'WIX_UPGRADE_DETECTED']]);
    // 256 = msidbComponentAttributes64bit: installed into the 64-bit Program Files.
    for (const c of comps) expect(c.Attributes, c.Component).toBe('256');
    const files = table(msi, 'File').map((f) => [f.FileName, f.Component_, Number(f.FileSize)]).sort();
    const xml = winswXml(agentLayout('win32'));
    expect(files).toEqual([
      ['better_sqlite3.node', 'Addon', payload['better_sqlite3.node']!.length],
      ['devlic-agent-service.exe', 'ServiceHost', payload['devlic-agent-service.exe']!.length],
      ['devlic-agent-service.xml', 'ServiceXml', Buffer.byteLength(xml)],
      ['devlic-agent.exe', 'AgentExe', payload['devlic-agent.exe']!.length],
    ]);
    expect(table(msi, 'CreateFolder')).toContainEqual({ Directory_: 'DATADIR', Component_: 'DataDir' });
  });

  it('carries the files byte for byte, the WinSW XML pointing at the installed agent', () => {
    const out = tempDir('msi-extract');
    execFileSync('msiextract', ['-C', out, msi], { encoding: 'utf8' });
    const found: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else found[e.name] = readFileSync(join(d, e.name), 'utf8');
      }
    };
    walk(out);
    expect(found).toEqual({ ...payload, 'devlic-agent-service.xml': winswXml(agentLayout('win32')) });
    expect(found['devlic-agent-service.xml']).toContain('<executable>C:\\Program Files\\devlic\\devlic-agent.exe</executable>');
  });

  it('installs the devlic-agent service (auto, LocalSystem, own process) and stops and deletes it on uninstall', () => {
    expect(table(msi, 'ServiceInstall')).toEqual([{
      ServiceInstall: 'AgentService', Name: 'devlic-agent', DisplayName: 'devlic agent',
      ServiceType: '16', // SERVICE_WIN32_OWN_PROCESS
      StartType: '2', // SERVICE_AUTO_START
      ErrorControl: '1', // SERVICE_ERROR_NORMAL
      LoadOrderGroup: '', Dependencies: '', StartName: 'LocalSystem', Password: '', Arguments: '',
      Component_: 'ServiceHost', Description: 'devlic device agent: device-based licensing for shared devices',
    }]);
    // 162 = msidbServiceControlEventStop (2) | UninstallStop (32) | UninstallDelete (128): no start before enrollment.
    // 1 = msidbServiceControlEventStart, in the component installed only on an upgrade.
    expect(table(msi, 'ServiceControl')).toEqual([
      { ServiceControl: 'AgentService', Name: 'devlic-agent', Event: '162', Arguments: '', Wait: '1', Component_: 'ServiceHost' },
      { ServiceControl: 'AgentUpgradeStart', Name: 'devlic-agent', Event: '1', Arguments: '', Wait: '0', Component_: 'UpgradeStart' },
    ]);
    const seq = Object.fromEntries(table(msi, 'InstallExecuteSequence').map((r) => [r.Action, Number(r.Sequence)]));
    // The upgrade property is set before components are costed, and the start comes after the new service exists.
    expect(seq.FindRelatedProducts!).toBeLessThan(seq.CostFinalize!);
    expect(seq.InstallServices!).toBeLessThan(seq.StartServices!);
  });

  it('locks the data folder and configures restarts, with the actions that apply them in the sequence', () => {
    expect(table(msi, 'MsiLockPermissionsEx')).toEqual([{ MsiLockPermissionsEx: 'DataDirAcl', LockObject: 'DATADIR', Table: 'CreateFolder', SDDLText: DATA_DIR_SDDL, Condition: '' }]);
    expect(table(msi, 'MsiServiceConfigFailureActions')[0]).toMatchObject({ Name: 'devlic-agent', Event: '1', ResetPeriod: '86400', Actions: '1[~]1[~]1', DelayActions: '5000[~]5000[~]30000', Component_: 'ServiceHost' });
    expect(table(msi, 'MsiServiceConfig')[0]).toMatchObject({ Name: 'devlic-agent', Event: '1', ConfigType: '4', Argument: '1', Component_: 'ServiceHost' });
    const seq = Object.fromEntries(table(msi, 'InstallExecuteSequence').map((r) => [r.Action, Number(r.Sequence)]));
    for (const a of ['StopServices', 'DeleteServices', 'RemoveFiles', 'RemoveFolders', 'CreateFolders', 'InstallFiles', 'InstallServices', 'MsiConfigureServices', 'RemoveExistingProducts']) {
      expect(seq[a], a).toBeGreaterThan(0);
    }
    expect(seq.StopServices!).toBeLessThan(seq.RemoveFiles!);
    expect(seq.CreateFolders!).toBeLessThan(seq.InstallFiles!);
    expect(seq.InstallServices!).toBeLessThan(seq.MsiConfigureServices!);
    expect(seq.MsiConfigureServices!).toBeLessThan(seq.InstallFinalize!);
  });
});

describe.runIf(REQUIRED && !!missing)('.msi (required)', () => {
  it('can be built here (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
    expect.fail(missing);
  });
});
