// Windows, tested up to the exact command lines and files: the install and
// uninstall sequences run on a staging root with a recording runner in place
// of sc.exe and icacls.exe (there is no Windows here to run them on).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInstallCommand } from '../../installer/install-cli.ts';
import { agentLayout } from '../../installer/layout.ts';
import { parseScQuery, quoteArg, winswXml } from '../../installer/platforms/windows.ts';
import { RecordingRunner, type Command } from '../../shared/run.ts';
import { fakeRelease, stagingRoot } from './helpers.ts';

const ENV = { ProgramFiles: 'C:\\Program Files', ProgramData: 'C:\\ProgramData' };
const EXE = 'C:\\Program Files\\devlic\\devlic-agent.exe';
const CFG = ['--config', 'C:\\ProgramData\\devlic\\agent.json', '--data-dir', 'C:\\ProgramData\\devlic'];
const SC_SETTINGS = ['binPath=', '"C:\\Program Files\\devlic\\devlic-agent-service.exe"', 'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', 'devlic agent'];
const STOPPED = 'SERVICE_NAME: devlic-agent\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : 1  STOPPED\n';
const RUNNING = STOPPED.replace('1  STOPPED', '4  RUNNING');
const NO_SERVICE = { code: 1060, stdout: '[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n' };

async function win(argv: string[], runner: RecordingRunner, root: string) {
  const lines: string[] = [];
  // A staging root enrolls only when asked: these tests stand in for a real install.
  const enroll = argv[0] === 'install' && argv.includes('--token') ? ['--enroll'] : [];
  const code = await runInstallCommand([...argv, '--root', root, ...enroll], {
    platform: 'win32', runner, env: ENV, isSea: false, serviceCommands: 'run', log: (l) => lines.push(l),
  });
  return { code, lines };
}

/** The recorded calls, with the staging root taken off the paths of the executable we ran. */
function calls(runner: RecordingRunner, root: string): string[][] {
  return runner.argv().map((a) => a.map((x) => (x.startsWith(root) ? `C:${x.slice(root.length).replace(/\//g, '\\')}` : x)));
}

describe('Windows service', () => {
  it('new install: files, ACL, WinSW host, sc.exe create/failure/start as LocalSystem', async () => {
    const root = stagingRoot();
    const runner = new RecordingRunner((c: Command) => (c.args[0] === 'query' ? NO_SERVICE : c.args[0] === 'status' ? { stdout: '{"enrolled":false}' } : undefined));
    const { code, lines } = await win(['install', '--server', 'https://licensing.example', '--token', 'tok', '--app', 'office-windows', '--from', fakeRelease({ windows: true, winsw: true })], runner, root);
    expect(code, lines.join('\n')).toBe(0);
    expect(readdirSync(join(root, 'Program Files/devlic')).sort()).toEqual(['better_sqlite3.node', 'devlic-agent-service.exe', 'devlic-agent-service.xml', 'devlic-agent.exe']);
    expect(readFileSync(join(root, 'Program Files/devlic/devlic-agent-service.xml'), 'utf8')).toBe(winswXml(agentLayout('win32', { env: ENV })));
    expect(JSON.parse(readFileSync(join(root, 'ProgramData/devlic/agent.json'), 'utf8'))).toEqual({
      dataDir: 'C:\\ProgramData\\devlic', server: 'https://licensing.example', apps: [{ name: 'office-windows' }],
    });
    expect(existsSync(join(root, 'ProgramData/devlic/logs'))).toBe(true);
    expect(calls(runner, root)).toEqual([
      ['sc.exe', 'query', 'devlic-agent'],
      ['icacls.exe', 'C:\\ProgramData\\devlic', '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'],
      [EXE, 'status', '--json', ...CFG],
      [EXE, 'enroll', '--server', 'https://licensing.example', ...CFG],
      ['sc.exe', 'create', 'devlic-agent', ...SC_SETTINGS],
      ['sc.exe', 'description', 'devlic-agent', 'devlic device agent: device-based licensing for shared devices'],
      ['sc.exe', 'failure', 'devlic-agent', 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/30000'],
      ['sc.exe', 'failureflag', 'devlic-agent', '1'],
      ['sc.exe', 'start', 'devlic-agent'],
    ]);
    // The enroll token went to the enroll step in its environment only.
    expect(runner.calls.find((c) => c.args[0] === 'enroll')!.env).toEqual({ DEVLIC_ENROLL_TOKEN: 'tok' });
  });

  it('re-install: stops the running service before replacing its files, then reconfigures it', async () => {
    const root = stagingRoot();
    let stopped = false;
    const runner = new RecordingRunner((c) => {
      if (c.args[0] === 'query') return { stdout: stopped ? STOPPED : RUNNING };
      if (c.args[0] === 'stop') stopped = true;
      if (c.args[0] === 'status') return { stdout: '{"enrolled":true,"server":"https://licensing.example"}' };
      return undefined;
    });
    const { code } = await win(['install', '--server', 'https://licensing.example', '--token', 'tok', '--from', fakeRelease({ windows: true, winsw: true })], runner, root);
    expect(code).toBe(0);
    const argv = calls(runner, root);
    expect(argv.slice(0, 3)).toEqual([['sc.exe', 'query', 'devlic-agent'], ['sc.exe', 'stop', 'devlic-agent'], ['sc.exe', 'query', 'devlic-agent']]);
    expect(argv).toContainEqual(['sc.exe', 'config', 'devlic-agent', ...SC_SETTINGS]);
    expect(argv.some((a) => a[1] === 'create' || a[1] === 'enroll')).toBe(false);
  });

  it('a failed upgrade puts the old files back and starts the old service again', async () => {
    const root = stagingRoot();
    const from = fakeRelease({ windows: true, winsw: true });
    await win(['install', '--from', from], new RecordingRunner((c) => (c.args[0] === 'query' ? NO_SERVICE : undefined)), root);
    const before = readFileSync(join(root, 'Program Files/devlic/devlic-agent.exe'), 'utf8');
    let stopped = false;
    const runner = new RecordingRunner((c) => {
      if (c.args[0] === 'query') return { stdout: stopped ? STOPPED : RUNNING };
      if (c.args[0] === 'stop') stopped = true;
      if (c.args[0] === 'enroll') return { code: 1, stderr: 'refused' };
      return undefined;
    });
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect((await win(['install', '--server', 'https://l.example', '--token', 'tok', '--from', fakeRelease({ windows: true, winsw: true })], runner, root)).code).toBe(1);
    } finally {
      process.stderr.write = orig;
    }
    expect(readFileSync(join(root, 'Program Files/devlic/devlic-agent.exe'), 'utf8')).toBe(before);
    expect(runner.argv().at(-1)).toEqual(['sc.exe', 'start', 'devlic-agent']);
    expect(runner.argv().some((a) => a[1] === 'delete')).toBe(false);
  });

  it('refuses to install without the WinSW service host, changing nothing', async () => {
    const root = stagingRoot();
    const orig = process.stderr.write.bind(process.stderr);
    const errs: string[] = [];
    process.stderr.write = ((s: string) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
    try {
      const { code } = await win(['install', '--server', 'https://l.example', '--token', 'tok', '--from', fakeRelease({ windows: true })], new RecordingRunner(), root);
      expect(code).toBe(1);
    } finally {
      process.stderr.write = orig;
    }
    expect(errs.join('')).toMatch(/devlic-agent-service\.exe/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('uninstall: stop, wait until stopped, delete; --purge removes ProgramData\\devlic', async () => {
    const root = stagingRoot();
    await win(['install', '--from', fakeRelease({ windows: true, winsw: true })], new RecordingRunner((c) => (c.args[0] === 'query' ? NO_SERVICE : undefined)), root);
    let stopped = false;
    const runner = new RecordingRunner((c) => {
      if (c.args[0] === 'query') return { stdout: stopped ? STOPPED : RUNNING };
      if (c.args[0] === 'stop') stopped = true;
      return undefined;
    });
    expect((await win(['uninstall', '--purge'], runner, root)).code).toBe(0);
    expect(runner.argv()).toEqual([
      ['sc.exe', 'query', 'devlic-agent'], ['sc.exe', 'stop', 'devlic-agent'], ['sc.exe', 'query', 'devlic-agent'], ['sc.exe', 'delete', 'devlic-agent'],
    ]);
    expect(readdirSync(join(root, 'Program Files'))).toEqual([]);
    expect(existsSync(join(root, 'ProgramData/devlic'))).toBe(false);
    // Nothing registered any more: uninstall again is a no-op.
    const again = new RecordingRunner(() => NO_SERVICE);
    expect((await win(['uninstall'], again, root)).code).toBe(0);
    expect(again.argv()).toEqual([['sc.exe', 'query', 'devlic-agent']]);
  });

  it('quotes WinSW arguments the way CreateProcess splits them; reads sc.exe query', () => {
    expect(quoteArg('run')).toBe('run');
    expect(quoteArg('C:\\Program Data\\x.json')).toBe('"C:\\Program Data\\x.json"');
    expect(quoteArg('C:\\dir with space\\')).toBe('"C:\\dir with space\\\\"');
    expect(quoteArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(parseScQuery(1060, NO_SERVICE.stdout)).toEqual({ exists: false, stopped: true });
    expect(parseScQuery(0, RUNNING)).toEqual({ exists: true, stopped: false });
    expect(parseScQuery(0, STOPPED)).toEqual({ exists: true, stopped: true });
  });
});
