// doctor's check of the systemd unit's network allow list (agent/host/unit-network.ts):
// systemd's reading of IPAddressAllow/IPAddressDeny over the unit and its
// drop-ins, and whether the server's address passes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeServer, networkPolicy, readAgentUnit, AGENT_UNIT } from '../../agent/host/unit-network.ts';
import { agentUnit, serverAddressLines } from '../../installer/platforms/systemd.ts';
import { tempDir } from '../helpers/temp-dirs.ts';

const svc = (...lines: string[]) => `[Unit]\nDescription=x\n\n[Service]\n${lines.join('\n')}\n`;

describe('networkPolicy', () => {
  it('reads deny-all and the allow list; an empty assignment clears what came before', () => {
    expect(networkPolicy([svc('IPAddressDeny=any', 'IPAddressAllow=192.0.2.10')])).toEqual({ denyAll: true, allow: ['192.0.2.10'] });
    expect(networkPolicy([svc('IPAddressDeny=any', 'IPAddressAllow=192.0.2.10'), svc('IPAddressAllow=', 'IPAddressAllow=198.51.100.7 10.0.0.0/8')]))
      .toEqual({ denyAll: true, allow: ['198.51.100.7', '10.0.0.0/8'] });
    expect(networkPolicy([svc('IPAddressDeny=any'), svc('IPAddressDeny=')]).denyAll).toBe(false);
    expect(networkPolicy([svc('IPAddressAllow=192.0.2.1'), svc('IPAddressAllow=192.0.2.2')]).allow).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('ignores comments, other sections and other keys', () => {
    const text = '[Install]\nIPAddressDeny=any\n[Service]\n# IPAddressDeny=any\n;IPAddressDeny=any\nIPAddressDenyX=any\nUser=root\n';
    expect(networkPolicy([text])).toEqual({ denyAll: false, allow: [] });
  });

  it("reads exactly what the installer writes for each kind of server URL", () => {
    for (const [server, denyAll, allow] of [
      ['https://192.0.2.10:8470', true, ['192.0.2.10']], ['https://[2001:db8::10]:8470', true, ['2001:db8::10']],
      ['http://localhost:8470', true, ['localhost']], ['https://licensing.example.org', false, []],
    ] as const) {
      const unit = agentUnit({ server, layout: { exe: '/usr/bin/devlic-agent', configFile: '/etc/devlic/agent.json', dataDir: '/var/lib/devlic' } });
      expect(networkPolicy([unit]), server).toEqual({ denyAll, allow });
      expect(serverAddressLines(server).length > 0).toBe(denyAll);
    }
  });
});

describe('judgeServer', () => {
  const narrowed = (...allow: string[]) => ({ denyAll: true, allow });
  it('no deny-all: nothing to check', () => {
    expect(judgeServer('https://192.0.2.99', { denyAll: false, allow: ['192.0.2.10'] }).level).toBe('ok');
  });
  it.each([
    ['https://192.0.2.10:8470', ['192.0.2.10'], 'ok'],
    ['https://192.0.2.11:8470', ['192.0.2.10'], 'fail'],
    ['https://192.0.2.11', ['192.0.2.0/24'], 'ok'],
    ['https://192.0.3.11', ['192.0.2.0/24'], 'fail'],
    ['https://[2001:db8::10]', ['2001:db8::10'], 'ok'],
    ['https://[2001:db8::11]', ['2001:db8::/64'], 'ok'],
    ['https://[2001:db8:1::11]', ['2001:db8::/64'], 'fail'],
    ['https://[2001:db8::11]', ['192.0.2.10'], 'fail'],
    ['http://127.0.0.1:8470', ['localhost'], 'ok'],
    ['http://localhost:8470', ['localhost'], 'ok'],
    ['http://localhost:8470', ['192.0.2.10'], 'fail'],
    ['https://169.254.1.5', ['link-local'], 'ok'],
    ['https://192.0.2.11', ['any'], 'ok'],
    ['https://192.0.2.11', [], 'fail'],
    ['https://192.0.2.11', ['not-an-address', '192.0.2.10/33'], 'fail'],
    ['https://licensing.example.org', ['192.0.2.10'], 'warn'],
  ] as const)('%s with allow %j: %s', (server, allow, level) => {
    const v = judgeServer(server, narrowed(...allow));
    expect(v.level).toBe(level);
    if (level === 'fail') expect(v.message).toContain(`devlic-agent install --server ${server}`);
  });
  it('names what it did not understand', () => {
    expect(judgeServer('https://192.0.2.11', narrowed('bogus')).message).toContain('not understood here: bogus');
  });
});

describe('readAgentUnit', () => {
  it('takes the unit from the most important folder and drop-ins by name across folders, a name in /etc hiding the same name later', () => {
    const root = tempDir('unitdirs');
    const [etc, lib] = [join(root, 'etc'), join(root, 'lib')];
    for (const d of [etc, lib]) mkdirSync(join(d, `${AGENT_UNIT}.d`), { recursive: true });
    writeFileSync(join(lib, AGENT_UNIT), svc('IPAddressDeny=any', 'IPAddressAllow=192.0.2.10'));
    writeFileSync(join(lib, `${AGENT_UNIT}.d`, '10-install.conf'), svc('IPAddressAllow=', 'IPAddressAllow=192.0.2.20'));
    writeFileSync(join(lib, `${AGENT_UNIT}.d`, '20-admin.conf'), svc('IPAddressAllow=192.0.2.30'));
    writeFileSync(join(etc, `${AGENT_UNIT}.d`, '20-admin.conf'), svc('IPAddressAllow=192.0.2.40'));
    writeFileSync(join(etc, `${AGENT_UNIT}.d`, 'notes.txt'), svc('IPAddressAllow=192.0.2.50'));
    const texts = readAgentUnit([etc, lib])!;
    expect(networkPolicy(texts)).toEqual({ denyAll: true, allow: ['192.0.2.20', '192.0.2.40'] });
    expect(judgeServer('https://192.0.2.10', networkPolicy(texts)).level).toBe('fail');
    writeFileSync(join(etc, AGENT_UNIT), svc('User=root'));
    expect(networkPolicy(readAgentUnit([etc, lib])!)).toEqual({ denyAll: false, allow: ['192.0.2.20', '192.0.2.40'] });
  });
  it('null when the agent is not a systemd service', () => {
    expect(readAgentUnit([tempDir('nounit')])).toBeNull();
  });
});
