// The systemd units, checked by systemd itself: `systemd-analyze verify`
// against a staging root that holds the installed files (it checks that
// ExecStart exists) and a copy of this machine's system units (for the
// targets the units name). Any output counts as a failure: verify only
// warns about unknown keys. Without systemd-analyze (apt-get install
// systemd) this skips loudly; with DEVLIC_REQUIRE_REAL_APPS=1 it fails.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentLayout, SERVER_LAYOUT } from '../../installer/layout.ts';
import { agentUnit, serverUnit } from '../../installer/platforms/systemd.ts';
import { runInstallCommand } from '../../installer/install-cli.ts';
import { RecordingRunner } from '../../shared/run.ts';
import { fakeRelease, skipLoudly, stagingRoot } from './helpers.ts';

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const missing = analyze.status === 0 ? undefined : 'systemd-analyze not found (apt-get install systemd)';
const skip = skipLoudly('systemd-analyze verify of the units', missing);

function verify(root: string, units: string[]): { code: number | null; output: string } {
  // The system's own units (sysinit.target, network-online.target...), as the root would have them.
  cpSync(realpathSync('/lib/systemd/system'), join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true, force: false, errorOnExist: false });
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, ...units], { encoding: 'utf8', cwd: root });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('systemd units', () => {
  it('agent unit: restart always, strict sandbox with only its data and the app folders writable, journal', () => {
    const unit = agentUnit({ layout: agentLayout('linux'), readWritePaths: ['/usr/lib/libreoffice/share/registry', '/usr/lib/libreoffice/share/registry'] });
    for (const line of [
      'Restart=always', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectHome=read-only',
      'StateDirectory=devlic', 'StateDirectoryMode=0700', 'StandardOutput=journal', 'WantedBy=multi-user.target',
      'ReadWritePaths=-/usr/lib/libreoffice/share/registry', 'ConditionPathExists=/etc/devlic/agent.json',
    ]) expect(unit.split('\n'), line).toContain(line);
    // V8 needs writable+executable memory.
    expect(unit).not.toContain('MemoryDenyWriteExecute');
    // A data folder outside /var/lib is opened with ReadWritePaths instead.
    expect(agentUnit({ layout: { ...agentLayout('linux'), dataDir: '/srv/devlic' } })).toContain('ReadWritePaths=/srv/devlic');
    expect(() => agentUnit({ layout: { ...agentLayout('linux'), configFile: '/etc/dev lic/agent.json' } })).toThrow(/cannot be used in a systemd unit/);
  });

  it('server unit: own user, data in /var/lib/devlic-server, no root', () => {
    const unit = serverUnit().split('\n');
    for (const line of ['User=devlic-server', 'StateDirectory=devlic-server', 'Restart=always', 'ProtectSystem=strict', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE']) {
      expect(unit, line).toContain(line);
    }
    expect(unit).toContain(`ExecStart=${SERVER_LAYOUT.exe} serve --config ${SERVER_LAYOUT.configFile}`);
  });

  it.skipIf(skip)('systemd-analyze verify accepts the installed agent unit and the server unit', async () => {
    const root = stagingRoot();
    const code = await runInstallCommand(['install', '--app', 'libreoffice', '--root', root, '--from', fakeRelease()], {
      platform: 'linux', runner: new RecordingRunner(), isSea: false, uid: 0, log: () => undefined,
    });
    expect(code).toBe(0);
    mkdirSync(join(root, SERVER_LAYOUT.programDir), { recursive: true });
    writeFileSync(join(root, SERVER_LAYOUT.exe), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(root, 'etc/systemd/system/devlic-server.service'), serverUnit());
    const r = verify(root, ['devlic-agent.service', 'devlic-server.service']);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it.skipIf(skip)('the check is real: a misspelt directive and a missing program are reported', () => {
    const root = stagingRoot();
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    const bad = agentUnit({ layout: agentLayout('linux') }).replace('ProtectHome=read-only', 'ProtectHomes=read-only');
    writeFileSync(join(root, 'etc/systemd/system/devlic-agent.service'), bad);
    const r = verify(root, ['devlic-agent.service']);
    expect(r.output).toMatch(/Unknown key 'ProtectHomes'/);
    expect(r.output).toMatch(/devlic-agent is not executable/);
    expect(readFileSync(join(root, 'etc/systemd/system/devlic-agent.service'), 'utf8')).toContain('ProtectHomes');
  });

  it.runIf(!!missing && !skip)('systemd-analyze is required here (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
    expect.fail(missing);
  });
});
