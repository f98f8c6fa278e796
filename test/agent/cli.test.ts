// The command-line contract: --help everywhere, exit 2 for wrong usage with a
// one-line reason, exit 1 for failures with what to do, commands that work
// on a device that is not enrolled yet, and `logs --follow`.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, ROOT, tempDir, waitFor } from '../helpers/processes.ts';
import { Store } from '../../agent/store/store.ts';
import { openDb } from '../../agent/store/db.ts';

const dir = tempDir('cli');
const config = join(dir, 'agent.json');
writeFileSync(config, '{}');
const data = join(dir, 'data');
const run = (...args: string[]) => spawnSync(NODE, [join(ROOT, 'agent/main.ts'), ...args], { encoding: 'utf8' });
const withDirs = (...args: string[]) => run(...args, '--data-dir', data, '--config', config);

describe('devlic-agent CLI', () => {
  it('prints help for the program and for every command', () => {
    const top = run('--help');
    expect(top.status).toBe(0);
    for (const c of ['enroll', 'run', 'status', 'logs', 'refresh', 'doctor']) {
      expect(top.stdout).toContain(`  ${c}`);
      const h = run(c, '--help');
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: devlic-agent ${c}`));
      expect(h.stdout).toContain('--data-dir');
    }
  });

  it('exits 2 with a one-line reason for wrong usage', () => {
    for (const args of [['frobnicate'], ['status', '--bogus'], ['enroll', '--token', 'abcdefgh'], ['enroll', '--server', 'http://127.0.0.1:1'],
      ['enroll', '--server', 'http://127.0.0.1:1', '--token', 'dle_a', '--token-file', '/dev/null'], ['enroll', '--server', 'http://127.0.0.1:1', '--token-file', '/dev/null'],
      ['status', 'extra'], ['logs', '--since', 'soon']]) {
      const r = withDirs(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(2); // reason + "Try --help"
    }
  });

  it('says install/uninstall are not in this build (exit 1)', () => {
    const r = run('install');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not part of this build/);
  });

  it('shows status on a device that is not enrolled, exits 1 saying how to enroll, without creating anything', () => {
    const r = withDirs('status', '--json');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not enrolled\n.*devlic-agent enroll --server URL --token T/);
    expect(JSON.parse(r.stdout)).toMatchObject({
      deviceId: null, enrolled: false, mode: 'read-only', reason: 'NOT_ENROLLED',
      entitlement: { status: null, product: null, subscription: null, group: null, expiresAt: null, warnAt: null },
      lastSync: { at: null, ok: null, error: null }, nextSync: null, users: [], enforcers: [],
    });
    const human = withDirs('status');
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/Enrolled\s+no: run 'devlic-agent enroll/);
    expect(existsSync(data)).toBe(false);
  });

  it('fails with what to do: refresh and doctor when not enrolled', () => {
    const r = withDirs('refresh');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not enrolled/);
    expect(r.stderr).toMatch(/devlic-agent enroll/);
    expect(withDirs('doctor').status).toBe(1);
    expect(existsSync(data)).toBe(false);
  });

  it('refuses a config file other users can write, and a config with a typo', () => {
    const loose = join(dir, 'loose.json');
    writeFileSync(loose, '{}');
    chmodSync(loose, 0o666);
    const r = run('status', '--config', loose, '--data-dir', data);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/writable by other users/);
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ waitSecnds: 10 }));
    const t = run('status', '--config', typo, '--data-dir', data);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/CONFIG_INVALID/);
    const cron = join(dir, 'cron.json');
    writeFileSync(cron, JSON.stringify({ expirySchedule: 'every minute' }));
    expect(run('status', '--config', cron, '--data-dir', data).stderr).toMatch(/expirySchedule/);
  });

  it('logs hides syncs that changed nothing unless --all, and refuses an unknown --type', () => {
    const d = join(tempDir('cli-logs'), 'data');
    mkdirSync(d, { mode: 0o700 });
    const store = new Store(openDb(join(d, 'agent.db')));
    const t = Date.now() - 60_000;
    store.addEvent(t, 'sync', 'UPDATED', { status: 200, seq: 1 });
    for (let i = 1; i <= 3; i++) store.addEvent(t + i, 'sync', 'UNCHANGED', { status: 304 });
    store.addEvent(t + 10, 'mode-change', 'ENTITLED');
    store.close();
    const logs = (...a: string[]) => run('logs', '--data-dir', d, '--config', config, ...a);
    const plain = logs();
    expect(plain.status).toBe(0);
    expect(plain.stdout).not.toMatch(/UNCHANGED/);
    expect(plain.stdout).toMatch(/UPDATED/);
    expect(plain.stdout).toMatch(/mode-change/);
    expect(plain.stderr).toMatch(/3 syncs that changed nothing not shown; --all shows them/);
    const json = logs('--json').stdout.trim().split('\n').map((l) => JSON.parse(l).reason);
    expect(json).toEqual(['UPDATED', 'ENTITLED']);
    expect(logs('--all').stdout.match(/UNCHANGED/g)).toHaveLength(3);
    expect(logs('--type', 'sync', '--all', '--json').stdout.trim().split('\n')).toHaveLength(4);
    const bogus = logs('--type', 'bogus');
    expect(bogus.status).toBe(2);
    expect(bogus.stdout).toBe('');
    expect(bogus.stderr).toMatch(/unknown event type 'bogus' \(known: .*mode-change.*sync/);
  });

  it('logs --follow prints new events as they are written and stops on SIGINT', async () => {
    const d = join(tempDir('cli-follow'), 'data');
    mkdirSync(d, { mode: 0o700 });
    const store = new Store(openDb(join(d, 'agent.db')));
    store.addEvent(Date.now(), 'agent-start', null);
    const p = spawn(NODE, [join(ROOT, 'agent/main.ts'), 'logs', '--follow', '--json', '--data-dir', d, '--config', config]);
    let out = '';
    p.stdout.on('data', (c) => { out += c; });
    await waitFor('old event', () => out.includes('agent-start'), 10_000);
    store.addEvent(Date.now(), 'agent-stop', 'NOW', { n: 1 });
    await waitFor('new event', () => out.includes('agent-stop'), 5000);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['agent-start', 'agent-stop']);
    expect(lines[1]).toMatchObject({ reason: 'NOW', fields: { n: 1 } });
    p.kill('SIGINT');
    const code = await new Promise((r) => p.once('exit', r));
    expect(code).toBe(0);
    store.close();
  });
});
