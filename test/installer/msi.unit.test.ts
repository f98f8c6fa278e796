// The Windows .msi's source (installer/build/msi.ts), pure: the WiX text and
// the tables added with msibuild. msi.test.ts builds it with the real wixl
// and reads the tables back.
import { describe, expect, it } from 'vitest';
import { agentWxs, COMPONENTS, CONDITION_QUERY, DATA_DIR_SDDL, extraTables, msiToolsMissing, msiVersion, SEQUENCE_QUERY, UPGRADE_CODE } from '../../installer/build/msi.ts';
import { UsageError } from '../../shared/cli.ts';

const wxs = agentWxs({ version: '1.2.3', sourceDir: '../../win32-x64', serviceXml: 'devlic-agent-service.xml' });

describe('msi source', () => {
  it('installs the four program files, each its own component with a fixed GUID', () => {
    const files = [...wxs.matchAll(/<File Id="(\w+)" Name="([^"]+)" Source="([^"]+)" KeyPath="yes"\/>/g)].map((m) => [m[1], m[2], m[3]]);
    expect(files).toEqual([
      ['AgentExe', 'devlic-agent.exe', '../../win32-x64/devlic-agent.exe'],
      ['Addon', 'better_sqlite3.node', '../../win32-x64/better_sqlite3.node'],
      ['ServiceHost', 'devlic-agent-service.exe', '../../win32-x64/devlic-agent-service.exe'],
      ['ServiceXml', 'devlic-agent-service.xml', 'devlic-agent-service.xml'],
    ]);
    for (const [id, guid] of Object.entries(COMPONENTS)) expect(wxs).toContain(`<Component Id="${id}" Guid="${guid}" Win64="yes">`);
    expect(new Set(Object.values(COMPONENTS)).size).toBe(Object.keys(COMPONENTS).length);
    expect(wxs).toMatch(/<Directory Id="ProgramFiles64Folder">\s*<Directory Id="INSTALLDIR" Name="devlic">/);
    expect(wxs).toMatch(/<Directory Id="CommonAppDataFolder">\s*<Directory Id="DATADIR" Name="devlic">[\s\S]*<CreateFolder\/>/);
  });

  it('defines the service like scDefine (auto start, LocalSystem) on the WinSW host, stopped and removed on uninstall, not started before enrollment', () => {
    expect(wxs).toMatch(/<ServiceInstall Id="AgentService" Name="devlic-agent" [^>]*Type="ownProcess" Start="auto" Account="LocalSystem" ErrorControl="normal"/);
    const control = wxs.match(/<ServiceControl [^>]*\/>/)![0];
    expect(control).toContain('Stop="both"');
    expect(control).toContain('Remove="uninstall"');
    expect(control).not.toContain('Start=');
    // Started again only by the component msibuild makes conditional on an upgrade.
    expect(wxs).toMatch(/<Component Id="UpgradeStart"[^>]*>\s*<CreateFolder\/>\s*<ServiceControl Id="AgentUpgradeStart" Name="devlic-agent" Start="install" Wait="no"\/>/);
    expect(CONDITION_QUERY).toBe("UPDATE `Component` SET `Condition` = 'WIX_UPGRADE_DETECTED' WHERE `Component` = 'UpgradeStart'");
    // The service entries sit in the component of the service host, so they come and go with it.
    expect(wxs).toMatch(/<Component Id="ServiceHost"[^>]*>\s*<File Id="ServiceHost"[^>]*\/>\s*<ServiceInstall [^>]*\/>\s*<ServiceControl/);
  });

  it('is a per-machine Windows Installer 5 package that upgrades earlier versions', () => {
    expect(wxs).toContain(`UpgradeCode="${UPGRADE_CODE}"`);
    expect(wxs).toContain('Version="1.2.3"');
    expect(wxs).toMatch(/<Package InstallerVersion="500" [^>]*InstallScope="perMachine"/);
    expect(wxs).toContain('<MajorUpgrade ');
  });

  it('refuses a version Windows Installer cannot compare', () => {
    expect(msiVersion('0.1.0')).toBe('0.1.0');
    for (const bad of ['0.1', '0.1.0-rc.1', '256.0.0', '1.2.65536', 'x']) expect(() => msiVersion(bad), bad).toThrow(UsageError);
  });

  it('escapes what XML would misread in paths', () => {
    expect(agentWxs({ version: '0.1.0', sourceDir: 'a&b"<c>', serviceXml: 'x.xml' })).toContain('Source="a&amp;b&quot;&lt;c&gt;/devlic-agent.exe"');
  });
});

describe('msi tables added with msibuild', () => {
  const t = extraTables();
  const rows = (idt: string) => idt.split('\r\n').slice(0, -1).map((l) => l.split('\t'));

  it('locks the data folder to SYSTEM and Administrators with no inherited entries, as icacls does', () => {
    expect(DATA_DIR_SDDL).toBe('D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)');
    expect(rows(t.MsiLockPermissionsEx!)).toEqual([
      ['MsiLockPermissionsEx', 'LockObject', 'Table', 'SDDLText', 'Condition'], ['s72', 's72', 's32', 's0', 'S255'],
      ['MsiLockPermissionsEx', 'MsiLockPermissionsEx'], ['DataDirAcl', 'DATADIR', 'CreateFolder', DATA_DIR_SDDL, ''],
    ]);
  });

  it('restarts the service on failure like scConfigure (5 s, 5 s, 30 s; reset after a day; also on error exits)', () => {
    expect(rows(t.MsiServiceConfigFailureActions!)[3]).toEqual(['AgentRestart', 'devlic-agent', '1', '86400', '[~]', '[~]', '1[~]1[~]1', '5000[~]5000[~]30000', 'ServiceHost']);
    expect(rows(t.MsiServiceConfig!)[3]).toEqual(['AgentFailureFlag', 'devlic-agent', '1', '4', '1', 'ServiceHost']);
    expect(SEQUENCE_QUERY).toContain("'MsiConfigureServices', 'VersionNT >= 600', 5850");
  });

  it('every row has as many fields as its table has columns', () => {
    for (const [name, idt] of Object.entries(t)) {
      const r = rows(idt);
      expect(r[2]![0], name).toBe(name);
      for (const row of [r[1]!, ...r.slice(3)]) expect(row.length, name).toBe(r[0]!.length);
    }
  });

  it('names the missing tools', () => {
    expect(msiToolsMissing(() => true)).toBeUndefined();
    expect(msiToolsMissing((p) => p !== '/usr/bin/wixl')).toMatch(/\/usr\/bin\/wixl not found \(apt-get install wixl msitools\)/);
  });
});
