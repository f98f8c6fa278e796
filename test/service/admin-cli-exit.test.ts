// devlic-admin's exit-code contract, checked by running the real entry point
// without a licensing service: 2 wrong usage, 0 help, 1 failure (no token,
// service unreachable).
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('exit codes of the real entry point', () => {
  const node = resolve('node_modules/.bin/node');
  const run = (args: string[], env: Record<string, string> = {}) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
    if (!('DEVLIC_ADMIN_TOKEN' in env)) delete childEnv.DEVLIC_ADMIN_TOKEN;
    if (!('DEVLIC_SERVER' in env)) delete childEnv.DEVLIC_SERVER;
    return spawnSync(node, ['service/admin-cli/main.ts', ...args], { encoding: 'utf8', env: childEnv, timeout: 20_000 });
  };

  it('exits 2 with a one-line reason for wrong usage', () => {
    const r = run(['subscriptions', 'add', '--product', 'P', '--seats', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe("devlic-admin: --seats must be a whole number from 0 to 10000000 (got 'abc')");
  });

  it('exits 0 and prints usage for --help', () => {
    const r = run(['devices', 'list', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--unlicensed');
  });

  it('exits 1 and says where the token is when there is none', () => {
    const r = run(['whoami']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DEVLIC_ADMIN_TOKEN/);
    expect(r.stderr).toMatch(/admin-token/);
  });

  it('exits 1 with advice when the service cannot be reached', async () => {
    const port = await new Promise<number>((done) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => done(p));
      });
    });
    const server = `http://127.0.0.1:${port}`;
    const r = run(['products', 'list', '--server', server], { DEVLIC_ADMIN_TOKEN: 't' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot reach the licensing service at ${server}`);
    expect(r.stderr).toContain('is devlic-server running? use --server');
  });
});
