// `npm start` (demo/start.ts): the service and one local agent on embedded
// defaults; an assign reaches the local agent, and Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, freePort, tempDir, waitFor } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';

const data = join(tempDir('start'), 'devlic-data');
let proc: ReturnType<typeof spawn> | undefined;
afterAll(() => { if (proc && proc.exitCode === null) proc.kill('SIGKILL'); });

describe('npm start', () => {
  it('starts service and agent, licenses the agent on assign, and stops both on SIGINT', async () => {
    const port = await freePort();
    proc = spawn(NODE, [join(ROOT, 'demo/start.ts')], { env: { ...process.env, DEVLIC_DATA: data, DEVLIC_LISTEN: `127.0.0.1:${port}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => proc!.once('exit', (c) => r(c)));
    await waitFor(`start banner (${out})`, () => out.includes('devlic is running'), 60_000, 100);
    expect(out).toContain('npx devlic-admin licenses assign');
    const url = `http://127.0.0.1:${port}`;
    const admin = adminClient(url, readFileSync(join(data, 'server', 'admin-token'), 'utf8').trim());
    const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 1 });
    await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: 'This computer' });
    const appMode = join(data, 'agent', 'app-mode.json');
    await waitFor('local agent full', () => existsSync(appMode) && JSON.parse(readFileSync(appMode, 'utf8')).mode === 'full', 15_000, 50);
    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 90_000);
});
