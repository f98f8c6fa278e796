// The pure parts of the systemd units: which server URLs narrow the agent's
// IP allow list, and what an install adds to the package's unit.
import { describe, expect, it } from 'vitest';
import { agentLayout } from '../../installer/layout.ts';
import { agentInstallLines, agentUnit, serverAddressLines, serverUnit } from '../../installer/platforms/systemd.ts';
import { allowedCalls, expand, parseSyscallGroups } from '../helpers/syscall-filter.ts';
import { AGENT_MALLOC_TUNABLES, forgetUnitMallocTunables } from '../../agent/runtime/v8-flags.ts';

describe('serverAddressLines', () => {
  it('allows only an address-literal server (IPv4, IPv6, localhost)', () => {
    expect(serverAddressLines('https://192.0.2.10:8470')).toEqual(['IPAddressDeny=any', 'IPAddressAllow=192.0.2.10']);
    expect(serverAddressLines('https://[2001:db8::10]:8470/')).toEqual(['IPAddressDeny=any', 'IPAddressAllow=2001:db8::10']);
    expect(serverAddressLines('http://127.0.0.1:8470')).toEqual(['IPAddressDeny=any', 'IPAddressAllow=127.0.0.1']);
    expect(serverAddressLines('http://LOCALHOST:8470')).toEqual(['IPAddressDeny=any', 'IPAddressAllow=localhost']);
  });

  it('leaves a host-name server, a bad URL and no server unrestricted', () => {
    for (const s of ['https://licensing.example.org:8470', 'https://10.0.0.5.nip.io', 'not a url', '', undefined]) {
      expect(serverAddressLines(s), String(s)).toEqual([]);
    }
  });
});

describe('agentInstallLines', () => {
  it('carries the writable folders once each and the server address, and is what the unit holds', () => {
    const opts = { readWritePaths: ['/usr/lib/libreoffice/share/registry', '/usr/lib/libreoffice/share/registry', '/srv/mode'], server: 'https://192.0.2.10' };
    const lines = agentInstallLines(opts);
    expect(lines).toEqual(['ReadWritePaths=-/usr/lib/libreoffice/share/registry -/srv/mode', 'IPAddressDeny=any', 'IPAddressAllow=192.0.2.10']);
    const unit = agentUnit({ layout: agentLayout('linux'), ...opts }).split('\n');
    for (const l of lines) expect(unit).toContain(l);
    expect(agentInstallLines({})).toEqual([]);
    expect(() => agentInstallLines({ readWritePaths: ['relative/path'] })).toThrow(/cannot be used in a systemd unit/);
  });
});

describe('the hardening both units share', () => {
  it('filters system calls with EPERM, hides other processes and devices', () => {
    for (const unit of [agentUnit({ layout: agentLayout('linux') }), serverUnit()]) {
      const lines = unit.split('\n');
      for (const l of ['SystemCallFilter=@system-service', 'SystemCallFilter=~@privileged @resources', 'SystemCallErrorNumber=EPERM',
        'ProtectProc=invisible', 'PrivateDevices=yes', 'PrivateMounts=yes', 'NoNewPrivileges=yes']) expect(lines, l).toContain(l);
      // The journal's priority prefix (`<3>`) must stay on: it is how log levels reach `journalctl -p`.
      expect(unit).not.toContain('SyslogLevelPrefix=no');
    }
    expect(serverUnit().split('\n')).toContain('CapabilityBoundingSet=CAP_NET_BIND_SERVICE');
  });
});

describe('the syscall-filter helper (how sandbox-run.test.ts applies a unit\'s filter)', () => {
  const groups = parseSyscallGroups(`@default
    # always
    execve
    exit
@a
    # group a
    @default
    read
    setpriority
@b
    setpriority
    @c
@c
    reboot
    @b
# Not showing unlisted system calls
`);

  it('parses groups and expands nested ones, cycles included', () => {
    expect([...expand('@a', groups)].sort()).toEqual(['execve', 'exit', 'read', 'setpriority']);
    expect([...expand('@b', groups)].sort()).toEqual(['reboot', 'setpriority']);
    expect([...expand('write', groups)]).toEqual(['write']);
    expect(() => expand('@nope', groups)).toThrow(/unknown system call group @nope/);
  });

  it('takes the first line as the allow list and removes what a ~ line names', () => {
    const unit = 'SystemCallFilter=@a write\nSystemCallFilter=~@b\nOther=1';
    expect([...allowedCalls(unit, groups)].sort()).toEqual(['execve', 'exit', 'read', 'write']);
    expect(() => allowedCalls('SystemCallFilter=~@b', groups)).toThrow(/no SystemCallFilter= allow list/);
    expect(() => allowedCalls('NoFilter=1', groups)).toThrow(/no SystemCallFilter= allow list/);
  });
});

describe('the agent unit\'s malloc settings (issue 18)', () => {
  it('sets glibc\'s tunables for the agent only, and the agent keeps them from what it starts', () => {
    const line = `Environment=GLIBC_TUNABLES=${AGENT_MALLOC_TUNABLES}`;
    expect(agentUnit({ layout: agentLayout('linux') }).split('\n')).toContain(line);
    expect(serverUnit()).not.toContain('GLIBC_TUNABLES');
    const env: NodeJS.ProcessEnv = { GLIBC_TUNABLES: AGENT_MALLOC_TUNABLES, PATH: '/usr/bin' };
    forgetUnitMallocTunables(env);
    expect(env).toEqual({ PATH: '/usr/bin' });
    // An administrator's own value (systemctl edit) is left alone.
    const own: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' };
    forgetUnitMallocTunables(own);
    expect(own).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' });
  });
});
