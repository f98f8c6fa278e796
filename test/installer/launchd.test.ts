// The macOS LaunchDaemon, parsed as a property list by Python's plistlib
// (strict XML plist reader) and checked key by key; the launchctl command
// lines and the files a macOS install writes, on a staging root.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentLayout } from '../../installer/layout.ts';
import { agentLogFile, agentPidFile, agentPlist, DARWIN_SIGUSR2, newsyslogConf } from '../../installer/platforms/launchd.ts';
import { REOPEN_SIGNAL } from '../../agent/runtime/log-file.ts';
import { runInstallCommand } from '../../installer/install-cli.ts';
import { RecordingRunner } from '../../shared/run.ts';
import { fakeRelease, skipLoudly, stagingRoot } from './helpers.ts';

const PY = 'import plistlib, sys, json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read(), fmt=plistlib.FMT_XML)))';
const missing = spawnSync('python3', ['-c', 'import plistlib'], { stdio: 'ignore' }).status === 0 ? undefined : 'python3 not found';
const skip = skipLoudly('parsing the LaunchDaemon plist with python3 plistlib', missing);

function parsePlist(xml: string): Record<string, unknown> {
  return JSON.parse(execFileSync('python3', ['-c', PY], { input: xml, encoding: 'utf8' }));
}

describe('launchd', () => {
  it.skipIf(skip)('the LaunchDaemon is a valid plist: label, program, RunAtLoad, KeepAlive, log paths', () => {
    const plist = parsePlist(agentPlist(agentLayout('darwin')));
    expect(plist).toEqual({
      Label: 'com.devlic.agent',
      ProgramArguments: ['/usr/local/devlic/devlic-agent', 'run', '--config', '/Library/Application Support/devlic/agent.json',
        '--log-file', '/Library/Logs/devlic/agent.log', '--pid-file', '/Library/Logs/devlic/agent.pid'],
      RunAtLoad: true,
      KeepAlive: true,
      ThrottleInterval: 5,
      ExitTimeOut: 30,
      ProcessType: 'Standard',
      WorkingDirectory: '/Library/Application Support/devlic',
      Umask: 0o077,
      StandardOutPath: '/Library/Logs/devlic/agent-stderr.log',
      StandardErrorPath: '/Library/Logs/devlic/agent-stderr.log',
    });
  });

  it('newsyslog rotates the log and signals the agent to reopen it, by pid file and SIGUSR2', () => {
    const conf = newsyslogConf(agentLayout('darwin'));
    const rules = conf.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
    // newsyslog.conf(5): logfilename [owner:group] mode count size when flags [/pid_file] [sig_num]; fields split on white space.
    expect(rules).toEqual([
      ['/Library/Logs/devlic/agent.log', 'root:wheel', '640', '7', '10240', '*', 'J', '/Library/Logs/devlic/agent.pid', '31'],
      ['/Library/Logs/devlic/agent-stderr.log', 'root:wheel', '640', '3', '1024', '*', 'JN'],
    ]);
    for (const r of rules) for (const f of r) expect(f, 'no white space inside a field').not.toMatch(/\s/);
    // The signal is the one the agent reopens on, by its macOS number; the pid file and log are the ones the plist passes.
    expect(REOPEN_SIGNAL).toBe('SIGUSR2');
    expect(DARWIN_SIGUSR2).toBe(31);
    const args = agentPlist(agentLayout('darwin'));
    expect(args).toContain(`<string>${agentLogFile(agentLayout('darwin'))}</string>`);
    expect(args).toContain(`<string>${agentPidFile(agentLayout('darwin'))}</string>`);
  });

  it.skipIf(skip)('escapes what XML would misread', () => {
    const plist = parsePlist(agentPlist({ ...agentLayout('darwin'), configFile: '/Users/Shared/a&b <c>.json' }));
    expect((plist.ProgramArguments as string[])[3]).toBe('/Users/Shared/a&b <c>.json');
  });

  it('install writes plist and log rotation, then enables and bootstraps the daemon', async () => {
    const root = stagingRoot();
    const runner = new RecordingRunner((c) => (c.args[0] === 'status' ? { stdout: '{"enrolled":false}' } : undefined));
    const code = await runInstallCommand(['install', '--server', 'https://licensing.example', '--token', 'tok', '--app', 'office-macos', '--root', root, '--enroll', '--from', fakeRelease()], {
      platform: 'darwin', runner, isSea: false, uid: 0, serviceCommands: 'run', log: () => undefined,
    });
    expect(code).toBe(0);
    expect(statSync(join(root, 'Library/LaunchDaemons/com.devlic.agent.plist')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(root, 'etc/newsyslog.d/devlic.conf'), 'utf8')).toBe(newsyslogConf(agentLayout('darwin')));
    expect(statSync(join(root, 'Library/Application Support/devlic')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(root, 'Library/Application Support/devlic/agent.json'), 'utf8')).apps).toEqual([{ name: 'office-macos' }]);
    expect(runner.argv().filter((a) => a[0] === '/bin/launchctl')).toEqual([
      ['/bin/launchctl', 'bootout', 'system/com.devlic.agent'],
      ['/bin/launchctl', 'enable', 'system/com.devlic.agent'],
      ['/bin/launchctl', 'bootstrap', 'system', '/Library/LaunchDaemons/com.devlic.agent.plist'],
    ]);

    const un = new RecordingRunner();
    expect(await runInstallCommand(['uninstall', '--purge', '--root', root], { platform: 'darwin', runner: un, uid: 0, serviceCommands: 'run', log: () => undefined })).toBe(0);
    expect(un.argv()).toEqual([['/bin/launchctl', 'bootout', 'system/com.devlic.agent']]);
    expect(() => statSync(join(root, 'Library/LaunchDaemons/com.devlic.agent.plist'))).toThrow();
    expect(() => statSync(join(root, 'Library/Application Support/devlic'))).toThrow();
  });

  it.runIf(!!missing && !skip)('python3 is required here (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
    expect.fail(missing);
  });
});
