// npm start's options and banner, without processes: flags beat the
// variables, which beat the defaults; bad values are usage errors; the banner
// carries the real URL and paths, quoted for a shell.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/cli.ts';
import { DEFAULT_LISTEN, GROUP, parseStart, startBanner } from '../../demo/start-options.ts';

const start = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const p = parseStart(argv, env, '/repo/devlic-data');
  if (p.kind !== 'start') throw new Error('expected start');
  return p.options;
};

describe('parseStart', () => {
  it('defaults, variables, flags: in that order of strength', () => {
    expect(start([])).toEqual({ listen: DEFAULT_LISTEN, url: `http://${DEFAULT_LISTEN}`, dataDir: '/repo/devlic-data', apps: ['file'] });
    const env = { DEVLIC_LISTEN: '127.0.0.1:9000', DEVLIC_DATA: '/env/data' };
    expect(start([], env)).toMatchObject({ listen: '127.0.0.1:9000', url: 'http://127.0.0.1:9000', dataDir: '/env/data' });
    expect(start(['--listen', '[::1]:8471', '--data-dir', '/flag/data'], env)).toMatchObject({ listen: '[::1]:8471', url: 'http://[::1]:8471', dataDir: '/flag/data' });
    expect(start([], { DEVLIC_DATA: '' }).dataDir).toBe('/repo/devlic-data');
  });

  it('LibreOffice only when asked; file always', () => {
    expect(start(['--app', 'file']).apps).toEqual(['file']);
    expect(start(['--app', 'libreoffice', '--app', 'libreoffice'])).toMatchObject({ apps: ['file', 'libreoffice'] });
    expect(start(['--app', 'libreoffice', '--libreoffice-root', '/opt/lo'])).toMatchObject({ libreofficeRoot: '/opt/lo' });
  });

  it('--help wins', () => {
    expect(parseStart(['--listen', '127.0.0.1:1', '-h'], {}, '/d')).toEqual({ kind: 'help' });
  });

  it.each([
    [['--listen', '127.0.0.1']], [['--listen', '127.0.0.1:0']], [['--listen', '127.0.0.1:65536']], [['--listen', 'a b:80']],
    [['--listen', '']], [['--data-dir', ' ']], [['--app', 'word']], [['--libreoffice-root', '/x']], [['x']], [['--nope']],
  ])('%j is wrong usage', (argv) => {
    expect(() => parseStart(argv, {}, '/d')).toThrow(UsageError);
  });

  it('a bad DEVLIC_LISTEN is named as such', () => {
    expect(() => parseStart([], { DEVLIC_LISTEN: 'nope' }, '/d')).toThrow(/DEVLIC_LISTEN 'nope'/);
  });
});

describe('startBanner', () => {
  it('exports the actual URL and token path, shell-quoted', () => {
    const b = startBanner({ url: 'http://127.0.0.1:8471', dataDir: "/tmp/my data/it's", adminToken: "/tmp/my data/it's/server/admin-token", agentDir: '/tmp/a', enforcers: ['file'] });
    expect(b).toContain('  export DEVLIC_SERVER=http://127.0.0.1:8471\n');
    expect(b).toContain(`  export DEVLIC_ADMIN_TOKEN=$(cat '/tmp/my data/it'\\''s/server/admin-token')\n`);
    expect(b).toContain(`--group "${GROUP}"`);
    expect(b).not.toContain('8470');
  });
});
