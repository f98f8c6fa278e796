// `devlic-server serve --workers N` refused before anything is made: more than
// one worker on SQLite (its change fan-out is in-process), and values that
// are not a whole number of processes from 1 to 64, from the flag (exit 2),
// DEVLIC_WORKERS or the config file (exit 1). One line each, no data folder.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, ROOT, tempDir } from '../helpers/processes.ts';

function serve(args: string[], env: Record<string, string> = {}) {
  const data = join(tempDir('serve-workers'), 'data');
  const clean = { ...process.env };
  delete clean.DEVLIC_DATABASE;
  delete clean.DEVLIC_WORKERS;
  const r = spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', data, '--listen', '127.0.0.1:0', ...args],
    { encoding: 'utf8', timeout: 30_000, env: { ...clean, ...env } });
  return { ...r, created: existsSync(data) };
}

describe('serve --workers refuses what it cannot run, changing nothing', () => {
  it('refuses more than one worker on SQLite, from the flag, the environment and the config file', () => {
    const cfg = join(tempDir('serve-workers-cfg'), 'server.json');
    writeFileSync(cfg, JSON.stringify({ workers: 3 }));
    for (const [args, env, n] of [[['--workers', '2'], {}, 2], [[], { DEVLIC_WORKERS: '2' }, 2], [['--config', cfg], {}, 3]] as const) {
      const r = serve([...args], env);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^devlic-server: workers: ${n} worker processes need PostgreSQL \\(--database or DEVLIC_DATABASE\\).* \\[CONFIG_INVALID\\]\\n$`));
      expect(r.created).toBe(false);
    }
  });

  it('refuses a bad --workers with exit 2 and a bad DEVLIC_WORKERS or config value with exit 1', () => {
    for (const bad of ['0', 'x', '65', '99999999999', '1.5', '']) {
      const r = serve([`--workers=${bad}`]);
      expect(r.status, bad + r.stderr).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`devlic-server: --workers must be a whole number of processes from 1 to 64 (got '${bad}')`);
      expect(r.created).toBe(false);
    }
    const neg = serve(['--workers=-1']);
    expect(neg.status).toBe(2);
    expect(neg.stderr).toMatch(/--workers must be a whole number of processes from 1 to 64 \(got '-1'\)/);
    const env = serve([], { DEVLIC_WORKERS: 'lots' });
    expect(env.status).toBe(1);
    expect(env.stderr).toBe("devlic-server: DEVLIC_WORKERS must be a whole number of processes from 1 to 64 (got 'lots') [CONFIG_INVALID]\n");
    const cfg = join(tempDir('serve-workers-cfg'), 'server.json');
    for (const v of [0, 65, 'two', 2.5]) {
      writeFileSync(cfg, JSON.stringify({ workers: v }));
      const r = serve(['--config', cfg]);
      expect(r.status, String(v)).toBe(1);
      expect(r.stderr).toMatch(/\/workers: .*\[CONFIG_INVALID\]\n$/);
      expect(r.created).toBe(false);
    }
  });

  it('accepts --workers 1 on SQLite (today\'s single process)', () => {
    // Past the settings to the listen step, where this made-up host stops it before anything is created.
    const r = serve(['--workers', '1', '--listen', 'no-such-host.invalid:8470']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot resolve the host 'no-such-host\.invalid'/);
    expect(r.created).toBe(false);
  });
});
