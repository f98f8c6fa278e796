// devlic-server with --tls-cert/--tls-key serves HTTPS that a client
// trusting the private CA can use, and refuses to start with only one of them.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as ufetch } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, freePort, tempDir, waitFor } from '../helpers/processes.ts';

const dir = tempDir('tls');
const procs: ReturnType<typeof spawn>[] = [];
afterAll(() => { for (const p of procs) p.kill('SIGTERM'); });

describe('TLS', () => {
  it('serves the API over HTTPS with the given certificate', async () => {
    const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const port = await freePort();
    const p = spawn(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`,
      '--tls-cert', cert, '--tls-key', key], { stdio: 'ignore' });
    procs.push(p);
    const dispatcher = new Agent({ connect: { ca: readFileSync(cert) } });
    const r = await waitFor('https healthz', async () => {
      const res = await ufetch(`https://127.0.0.1:${port}/healthz`, { dispatcher });
      return res.ok ? res : null;
    }, 20_000, 100);
    expect(await r.json()).toEqual({ ok: true });
    // A client that does not trust the certificate is refused by TLS itself.
    await expect(ufetch(`https://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('exits 2 when only one of --tls-cert and --tls-key is given', () => {
    const r = spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(dir, 'd2'), '--tls-cert', 'x.pem'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--tls-cert and --tls-key go together/);
  });

  it('exits 2 on an unknown command or flag and 0 on --help', () => {
    expect(spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'serv'], { encoding: 'utf8' }).status).toBe(2);
    expect(spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--nope'], { encoding: 'utf8' }).status).toBe(2);
    const help = spawnSync(NODE, [join(ROOT, 'service/main.ts'), '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/devlic-server serve/);
  });
});
