// `devlic-server serve` with bad arguments or configuration: a one-line
// reason, exit 2 for a wrong flag (1 for a bad config file or an unusable
// address), and nothing created - no data folder, database or admin token.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, ROOT, tempDir } from '../helpers/processes.ts';
import { listenProblem } from '../../service/config.ts';

const serve = (data: string, ...args: string[]) =>
  spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', data, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('listenProblem', () => {
  it('accepts HOST:PORT with a port from 0 to 65535', () => {
    for (const ok of ['127.0.0.1:8470', '0.0.0.0:0', 'localhost:65535', '[::1]:8470', '[::]:1', 'devlic.example.org:443']) expect(listenProblem(ok), ok).toBeNull();
  });
  it('says what is wrong with anything else', () => {
    expect(listenProblem(':99999')).toMatch(/no host; use 127\.0\.0\.1:99999/);
    expect(listenProblem(':8470')).toMatch(/no host/);
    for (const bad of ['127.0.0.1:99999', 'localhost:65536', '127.0.0.1:', '127.0.0.1:80x', '127.0.0.1:-1']) expect(listenProblem(bad), bad).toMatch(/port must be a number from 0 to 65535/);
    expect(listenProblem('8470')).toMatch(/not HOST:PORT/);
    expect(listenProblem('::1:8470')).toMatch(/not a host name or address .*brackets/);
    expect(listenProblem('[zz]:8470')).toMatch(/not a host name/);
    expect(listenProblem('my host:8470')).toMatch(/not a host name/);
  });
});

describe('devlic-server serve with bad input changes nothing', () => {
  it('exits 2 with a one-line reason for a bad --listen', () => {
    for (const listen of [':99999', '127.0.0.1:99999', 'localhost:70000', '8470']) {
      const data = join(tempDir('serve-args'), 'data');
      const r = serve(data, '--listen', listen);
      expect(r.status, listen + r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(2); // reason + "Try --help"
      expect(r.stderr).toMatch(/^devlic-server: --listen /);
      expect(existsSync(data), listen).toBe(false);
    }
  });

  it('exits 1 with one line for a bad listen in the config file, unreadable TLS files, an unknown host', () => {
    const dir = tempDir('serve-cfg');
    const cfg = join(dir, 'server.json');
    writeFileSync(cfg, JSON.stringify({ listen: '127.0.0.1:99999' }));
    for (const [args, message] of [
      [['--config', cfg], /listen: '127\.0\.0\.1:99999': the port must be/],
      [['--listen', '127.0.0.1:0', '--tls-cert', join(dir, 'no-cert.pem'), '--tls-key', join(dir, 'no-key.pem')], /cannot read the tls-cert file .*ENOENT/],
      [['--listen', 'no-such-host.invalid:8470'], /cannot resolve the host 'no-such-host\.invalid'/],
      [['--database', 'mysql://root:pw@localhost/devlic'], /database: 'mysql:' URLs are not supported/],
    ] as const) {
      const data = join(tempDir('serve-args'), 'data');
      const r = serve(data, ...args);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(existsSync(data)).toBe(false);
    }
  });

  it('says in one line that the address is in use, without a stack trace', async () => {
    const blocker = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = serve(join(tempDir('serve-busy'), 'data'), '--listen', `127.0.0.1:${port}`);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});
