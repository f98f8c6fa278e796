// `devlic-agent install` / `uninstall` on the Linux layout, into a staging
// root, with the service-manager calls recorded: files and their modes, the
// exact systemctl command lines, enrolling through the installed executable,
// idempotent re-runs, rollback of a failed install and of a failed upgrade,
// purge, the package-managed case, and the CLI's refusals.
import { existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/cli.ts';
import { EXIT_APP_UNSUPPORTED, runInstallCommand, sandboxWritePaths } from '../../installer/install-cli.ts';
import { versionFromMainXcd } from '../../agent/enforce/lo-layer.ts';
import { DPKG_LIST } from '../../installer/install.ts';
import { processRunner, RecordingRunner, type Command } from '../../shared/run.ts';
import { tempDir } from '../helpers/processes.ts';
import { fakeRelease, stagingRoot } from './helpers.ts';

const mode = (p: string) => statSync(p).mode & 0o777;
const SERVER = 'http://127.0.0.1:8470';

function respond(status: object = { enrolled: false }) {
  return (c: Command) => (c.args[0] === 'status' ? { stdout: JSON.stringify(status) } : undefined);
}

async function runCli(argv: string[], runner: RecordingRunner, extra: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const code = await runInstallCommand(argv, {
    platform: 'linux', runner, isSea: false, uid: 0, serviceCommands: 'run', log: (l) => lines.push(l), ...extra,
  });
  return { code, lines };
}

afterEach(() => {
  delete process.env.DEVLIC_FAKE_LOG;
  delete process.env.DEVLIC_FAKE_ENROLL_FAIL;
});

describe('install on Linux (staging root, recorded systemctl)', () => {
  it('lays out program, link, config, data and unit with the right modes, enrolls, then registers and starts', async () => {
    const root = stagingRoot();
    const from = fakeRelease();
    const runner = new RecordingRunner(respond());
    const { code, lines } = await runCli(['install', '--server', SERVER, '--token', 'tok-secret', '--app', 'file', '--app', 'libreoffice', '--root', root, '--enroll', '--from', from], runner);
    expect(code, lines.join('\n')).toBe(0);

    const exe = join(root, 'opt/devlic/devlic-agent');
    expect(mode(join(root, 'opt/devlic'))).toBe(0o755);
    expect(mode(exe)).toBe(0o755);
    expect(mode(join(root, 'opt/devlic/better_sqlite3.node'))).toBe(0o644);
    expect(readlinkSync(join(root, 'usr/local/bin/devlic-agent'))).toBe('/opt/devlic/devlic-agent');
    expect(mode(join(root, 'etc/devlic/agent.json'))).toBe(0o600);
    expect(JSON.parse(readFileSync(join(root, 'etc/devlic/agent.json'), 'utf8'))).toEqual({
      dataDir: '/var/lib/devlic', server: SERVER, apps: [{ name: 'file' }, { name: 'libreoffice' }],
    });
    expect(mode(join(root, 'var/lib/devlic'))).toBe(0o700);
    const unit = readFileSync(join(root, 'etc/systemd/system/devlic-agent.service'), 'utf8');
    expect(mode(join(root, 'etc/systemd/system/devlic-agent.service'))).toBe(0o644);
    expect(unit).toContain('ExecStart=/opt/devlic/devlic-agent run --config /etc/devlic/agent.json');
    expect(unit).toContain('-/usr/lib/libreoffice/share/registry');

    const cfg = ['--config', join(root, 'etc/devlic/agent.json'), '--data-dir', join(root, 'var/lib/devlic')];
    expect(runner.argv()).toEqual([
      [exe, 'status', '--json', ...cfg],
      [exe, 'enroll', '--server', SERVER, ...cfg],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', 'devlic-agent.service'],
      ['systemctl', 'restart', 'devlic-agent.service'],
    ]);
    // The enroll token reaches the enroll step through its environment, never its command line.
    expect(runner.calls[1].env).toEqual({ DEVLIC_ENROLL_TOKEN: 'tok-secret' });
    expect(JSON.stringify(runner.argv())).not.toContain('tok-secret');
    expect(lines.join('\n')).not.toContain('tok-secret');
    // No leftovers of the atomic replacement.
    expect(readdirSync(join(root, 'opt/devlic')).sort()).toEqual(['better_sqlite3.node', 'devlic-agent']);
  });

  it('is safe to re-run: upgrades files, keeps config settings, does not enroll an enrolled device again', async () => {
    const root = stagingRoot();
    const from = fakeRelease();
    await runCli(['install', '--server', SERVER, '--token', 't1', '--app', 'libreoffice', '--root', root, '--enroll', '--from', from], new RecordingRunner(respond()));
    const cfgFile = join(root, 'etc/devlic/agent.json');
    writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), waitSeconds: 30 }), { mode: 0o600 });
    writeFileSync(join(from, 'devlic-agent'), '#!/bin/sh\necho v2\n', { mode: 0o755 });

    const runner = new RecordingRunner(respond({ enrolled: true, server: `${SERVER}/` }));
    const { code, lines } = await runCli(['install', '--server', SERVER, '--token', 't2', '--root', root, '--enroll', '--from', from], runner);
    expect(code).toBe(0);
    expect(readFileSync(join(root, 'opt/devlic/devlic-agent'), 'utf8')).toContain('v2');
    expect(JSON.parse(readFileSync(cfgFile, 'utf8'))).toMatchObject({ waitSeconds: 30, apps: [{ name: 'libreoffice' }] });
    expect(runner.argv().map((a) => a[1])).toEqual(['status', 'daemon-reload', 'enable', 'restart']);
    expect(lines.join('\n')).toContain('already enrolled');
    expect(readdirSync(join(root, 'opt/devlic')).sort()).toEqual(['better_sqlite3.node', 'devlic-agent']);
    // The libreoffice app of the kept config still opens its registry in the sandbox.
    expect(readFileSync(join(root, 'etc/systemd/system/devlic-agent.service'), 'utf8')).toContain('-/usr/lib/libreoffice/share/registry');
  });

  it('runs the installed executable to enroll (real execFile runner)', async () => {
    const root = stagingRoot();
    const log = join(tempDir('fakelog'), 'calls');
    process.env.DEVLIC_FAKE_LOG = log;
    const lines: string[] = [];
    const tokenFile = join(tempDir('tokenfile'), 'enroll-token');
    writeFileSync(tokenFile, 'dle_from-a-file-0123456789\n', { mode: 0o600 });
    const code = await runInstallCommand(['install', '--server', SERVER, '--token-file', tokenFile, '--root', root, '--enroll', '--from', fakeRelease()], {
      platform: 'linux', runner: processRunner(), isSea: false, uid: 0, log: (l) => lines.push(l),
    });
    expect(code, lines.join('\n')).toBe(0);
    const calls = readFileSync(log, 'utf8').split('---\n').filter(Boolean).map((c) => c.trim().split('\n'));
    expect(calls.map((c) => c[0])).toEqual(['status', 'enroll']);
    // What the real child process saw: the token read from the file, in its environment only.
    expect(calls[1].at(-1)).toBe('env:DEVLIC_ENROLL_TOKEN=dle_from-a-file-0123456789');
    expect(calls[1].slice(0, -1).join(' ')).not.toContain('dle_from-a-file');
    expect(calls[0].at(-1)).toBe('env:DEVLIC_ENROLL_TOKEN=');
    expect(lines).toContain('enroll: Enrolled as device dev-1');
    // With a staging root and the real runner, systemctl is not run, only reported.
    expect(lines.filter((l) => l.includes('(staging root: not run) systemctl'))).toHaveLength(3);
    // ...and nothing claims it was.
    expect(lines).toContain('service: devlic-agent defined, not registered or started (staging root)');
    expect(lines.join('\n')).not.toMatch(/registered and started|installed and running/);
    expect(lines.at(-1)).toBe(`devlic-agent is staged under ${root} and enrolled; no service was registered or started.`);
  });

  it('a staging root without --enroll writes files and config but does not enroll or run anything', async () => {
    const root = stagingRoot();
    const log = join(tempDir('fakelog'), 'calls');
    process.env.DEVLIC_FAKE_LOG = log;
    const lines: string[] = [];
    const code = await runInstallCommand(['install', '--server', SERVER, '--token', 'dle_not-spent-0123456789', '--root', root, '--from', fakeRelease()], {
      platform: 'linux', runner: processRunner(), isSea: false, uid: 0, log: (l) => lines.push(l),
    });
    expect(code, lines.join('\n')).toBe(0);
    expect(existsSync(log)).toBe(false); // the staged executable never ran: no status, no enroll
    expect(JSON.parse(readFileSync(join(root, 'etc/devlic/agent.json'), 'utf8'))).toMatchObject({ server: SERVER });
    expect(existsSync(join(root, 'var/lib/devlic/identity.json'))).toBe(false);
    expect(lines.join('\n')).toMatch(/enroll: not done \(staging root; the server is in the config\): run 'devlic-agent enroll' on the target machine, or pass --enroll/);
    expect(lines.join('\n')).not.toContain('dle_not-spent');
    expect(lines.at(-1)).toBe(`devlic-agent is staged under ${root}; no service was registered or started.`);
    // The server alone is enough for staging.
    const root2 = stagingRoot();
    const alone = await runCli(['install', '--server', SERVER, '--root', root2, '--from', fakeRelease()], new RecordingRunner(), { serviceCommands: undefined });
    expect(alone.code, alone.lines.join('\n')).toBe(0);
    expect(JSON.parse(readFileSync(join(root2, 'etc/devlic/agent.json'), 'utf8'))).toMatchObject({ server: SERVER });
    expect(alone.lines.join('\n')).toMatch(/enroll: not done/);
    expect(existsSync(log)).toBe(false);
  });

  it('refuses --enroll without a staging root, without server and token, and on uninstall', async () => {
    const root = stagingRoot();
    await expect(runCli(['install', '--server', SERVER, '--token', 't', '--enroll', '--from', fakeRelease()], new RecordingRunner())).rejects.toThrow(/--enroll goes with --root/);
    await expect(runCli(['install', '--root', root, '--enroll', '--from', fakeRelease()], new RecordingRunner())).rejects.toThrow(/--enroll needs --server and an enroll token/);
    await expect(runCli(['uninstall', '--root', root, '--enroll'], new RecordingRunner())).rejects.toThrow(UsageError);
  });

  it('rolls a failed first install back completely and unregisters nothing it did not register', async () => {
    const root = stagingRoot();
    const runner = new RecordingRunner((c) => (c.args[0] === 'enroll' ? { code: 1, stderr: 'enroll token rejected (tok-bad)' } : respond()(c)));
    const errs: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
    let result;
    try {
      result = await runCli(['install', '--server', SERVER, '--token', 'tok-bad', '--root', root, '--enroll', '--from', fakeRelease()], runner);
    } finally {
      process.stderr.write = orig;
    }
    expect(result.code).toBe(1);
    expect(errs.join('')).toContain('enroll token rejected');
    expect(errs.join('') + result.lines.join('\n')).not.toContain('tok-bad');
    for (const p of ['opt/devlic', 'usr/local/bin/devlic-agent', 'etc/devlic', 'var/lib/devlic', 'etc/systemd/system/devlic-agent.service']) {
      expect(existsSync(join(root, p)), p).toBe(false);
    }
    expect(runner.argv().some((a) => a[0] === 'systemctl')).toBe(false);
  });

  it('rolls a failed upgrade back to the previous program, config and unit, and runs the previous agent', async () => {
    const root = stagingRoot();
    const from = fakeRelease();
    await runCli(['install', '--server', SERVER, '--token', 't', '--root', root, '--enroll', '--from', from], new RecordingRunner(respond()));
    const before = ['opt/devlic/devlic-agent', 'etc/devlic/agent.json', 'etc/systemd/system/devlic-agent.service'].map((p) => readFileSync(join(root, p), 'utf8'));
    writeFileSync(join(from, 'devlic-agent'), '#!/bin/sh\necho v2\n', { mode: 0o755 });
    const runner = new RecordingRunner((c) => (c.args[0] === 'restart' ? { code: 1, stderr: 'Job failed' } : respond()(c)));
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      const { code } = await runCli(['install', '--server', 'https://other.example', '--token', 't', '--app', 'libreoffice', '--root', root, '--enroll', '--from', from], runner);
      expect(code).toBe(1);
    } finally {
      process.stderr.write = orig;
    }
    const after = ['opt/devlic/devlic-agent', 'etc/devlic/agent.json', 'etc/systemd/system/devlic-agent.service'].map((p) => readFileSync(join(root, p), 'utf8'));
    expect(after).toEqual(before);
    expect(existsSync(join(root, 'var/lib/devlic')), 'an existing data folder is never removed').toBe(true);
    // The previous agent is registered and started again on the restored files (not removed).
    const argv = runner.argv();
    expect(argv.slice(-3)).toEqual([
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', 'devlic-agent.service'],
      ['systemctl', 'restart', 'devlic-agent.service'],
    ]);
    expect(argv.some((a) => a[1] === 'disable')).toBe(false);
  });

  it('uninstall keeps config and data, --purge removes them; both can be re-run', async () => {
    const root = stagingRoot();
    await runCli(['install', '--server', SERVER, '--token', 't', '--root', root, '--enroll', '--from', fakeRelease()], new RecordingRunner(respond()));
    writeFileSync(join(root, 'var/lib/devlic/device-key.pem'), 'key', { mode: 0o600 });

    const r1 = new RecordingRunner();
    expect((await runCli(['uninstall', '--root', root], r1)).code).toBe(0);
    expect(r1.argv()).toEqual([
      ['systemctl', 'disable', '--now', 'devlic-agent.service'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'reset-failed', 'devlic-agent.service'],
    ]);
    for (const p of ['opt/devlic', 'usr/local/bin/devlic-agent', 'etc/systemd/system/devlic-agent.service']) expect(existsSync(join(root, p)), p).toBe(false);
    expect(existsSync(join(root, 'etc/devlic/agent.json'))).toBe(true);
    expect(existsSync(join(root, 'var/lib/devlic/device-key.pem'))).toBe(true);

    expect((await runCli(['uninstall', '--root', root], new RecordingRunner())).code).toBe(0);
    expect((await runCli(['uninstall', '--purge', '--root', root], new RecordingRunner())).code).toBe(0);
    for (const p of ['etc/devlic', 'var/lib/devlic']) expect(existsSync(join(root, p)), p).toBe(false);
    expect((await runCli(['uninstall', '--purge', '--root', root], new RecordingRunner())).code).toBe(0);
  });

  it('leaves the package files to dpkg and adds only a sandbox drop-in when the .deb is installed', async () => {
    const root = stagingRoot();
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    writeFileSync(join(root, DPKG_LIST), '/usr/lib/devlic/devlic-agent\n');
    const runner = new RecordingRunner(respond());
    const { code } = await runCli(['install', '--server', SERVER, '--token', 't', '--app', 'libreoffice', '--root', root, '--enroll'], runner);
    expect(code).toBe(0);
    expect(existsSync(join(root, 'opt/devlic'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/devlic-agent.service'))).toBe(false);
    const dropIn = readFileSync(join(root, 'etc/systemd/system/devlic-agent.service.d/devlic-install.conf'), 'utf8');
    expect(dropIn).toMatch(/^\[Service\]\nReadWritePaths=-\/usr\/lib\/libreoffice\/share\/registry/m);
    expect(runner.argv().at(-1)).toEqual(['systemctl', 'restart', 'devlic-agent.service']);
    // The package's executable (in /usr/lib/devlic, not the release archive's /opt/devlic) enrolls.
    expect(runner.argv().find((a) => a.includes('enroll'))?.[0]).toBe(join(root, 'usr/lib/devlic/devlic-agent'));

    const r = new RecordingRunner();
    expect((await runCli(['uninstall', '--purge', '--root', root], r)).code).toBe(0);
    expect(existsSync(join(root, 'etc/systemd/system/devlic-agent.service.d'))).toBe(false);
  });

  it('refuses wrong usage (exit 2) and unsafe situations (exit 1) before changing anything', async () => {
    const root = stagingRoot();
    const runner = new RecordingRunner();
    await expect(runCli(['install', '--token', 't', '--root', root], runner)).rejects.toThrow(/an enroll token needs --server/);
    await expect(runCli(['install', '--server', SERVER, '--token', 't', '--root', root, '--enroll'], runner)).rejects.toThrow(/--from DIR/);
    await expect(runCli(['install', '--server', SERVER, '--token', 't', '--app', 'hook', '--root', root, '--enroll', '--from', fakeRelease()], runner)).rejects.toThrow(/script path/);
    await expect(runCli(['install', '--server', SERVER, '--token', 't', '--app', 'word', '--root', root, '--enroll', '--from', fakeRelease()], runner)).rejects.toThrow(/unknown app/);
    await expect(runCli(['uninstall', '--token', 't'], runner)).rejects.toThrow(UsageError);
    const orig = process.stderr.write.bind(process.stderr);
    const errs: string[] = [];
    process.stderr.write = ((s: string) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
    try {
      expect((await runCli(['install', '--server', SERVER, '--token', 't'], runner, { uid: 1000 })).code).toBe(1);
      expect((await runCli(['install', '--server', SERVER, '--token', 't', '--root', root, '--enroll', '--from', tempDir('empty')], runner)).code).toBe(1);
    } finally {
      process.stderr.write = orig;
    }
    expect(errs.join('')).toMatch(/must run as root/);
    expect(errs.join('')).toMatch(/missing .*devlic-agent/);
    expect(runner.calls).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('opens exactly the folders the enabled apps write', async () => {
    expect(await sandboxWritePaths([{ name: 'libreoffice', installRoot: '/opt/libreoffice26.8' }, { name: 'file', path: '/srv/mode/app.json' }], 'linux'))
      .toEqual(['/opt/libreoffice26.8/share/registry', '/opt/libreoffice26.8/registry', '/srv/mode']);
    expect(await sandboxWritePaths([{ name: 'file' }], 'linux')).toEqual([]);
  });

  it('warns loudly and exits 3 when an --app app cannot be switched on this machine (the host LibreOffice, for real)', async (t) => {
    const main = '/usr/lib/libreoffice/share/registry/main.xcd';
    if (!existsSync(main)) {
      if (process.env.DEVLIC_REQUIRE_REAL_APPS === '1') throw new Error(`${main} not found (apt-get install --no-install-recommends libreoffice-core)`);
      console.warn(`\n!!!!!!!! SKIPPING the install --app libreoffice check against the host LibreOffice: ${main} not found.\n`);
      t.skip();
      return;
    }
    const version = versionFromMainXcd(readFileSync(main, 'utf8')) ?? '0';
    const old = Number(version.split('.')[0]) < 26 || (Number(version.split('.')[0]) === 26 && Number(version.split('.')[1]) < 8);
    const orig = process.stderr.write.bind(process.stderr);
    const errs: string[] = [];
    process.stderr.write = ((s: string) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
    let code: number;
    let fileOnly: number;
    const root = stagingRoot();
    try {
      ({ code } = await runCli(['install', '--server', SERVER, '--token', 't', '--app', 'file', '--app', 'libreoffice', '--root', root, '--enroll', '--from', fakeRelease()],
        new RecordingRunner(respond()), { appChecks: 'run' }));
      ({ code: fileOnly } = await runCli(['install', '--server', SERVER, '--token', 't', '--app', 'file', '--root', stagingRoot(), '--enroll', '--from', fakeRelease()],
        new RecordingRunner(respond()), { appChecks: 'run' }));
    } finally {
      process.stderr.write = orig;
    }
    expect(fileOnly).toBe(0);
    // Installed all the same: the config names both apps.
    expect(JSON.parse(readFileSync(join(root, 'etc/devlic/agent.json'), 'utf8')).apps).toEqual([{ name: 'file' }, { name: 'libreoffice' }]);
    if (old) {
      expect(code).toBe(EXIT_APP_UNSUPPORTED);
      expect(EXIT_APP_UNSUPPORTED).toBe(3);
      expect(errs.join('')).toMatch(new RegExp(`WARNING: installed, but an app given with --app cannot be switched on this device:\\n  - libreoffice: LibreOffice ${version.replace(/\./g, '\\.')} at /usr/lib/libreoffice: ViewerAppMode is not supported`));
      expect(errs.join('')).not.toMatch(/- file:/);
    } else {
      expect(code).toBe(0);
    }
    // Staging for another machine checks nothing by default.
    expect((await runCli(['install', '--server', SERVER, '--token', 't', '--app', 'libreoffice', '--root', stagingRoot(), '--enroll', '--from', fakeRelease()], new RecordingRunner(respond()))).code).toBe(0);
  });
});
