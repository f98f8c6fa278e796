// Paths the root agent runs or writes through, with real agent processes:
// a hook that a user group could change after it ran is refused at the next
// apply (the daemon's start) and not run again, and both status and
// `devlic-agent doctor` say why; doctor also reports a file-enforcer target
// behind a symlink another user planted, and the test hooks in use.
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../helpers/processes.ts';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';

const asRoot = process.getuid?.() === 0;
const OTHER = 65534;

interface Check { name: string; status: string; message: string }
async function doctor(agent: TestAgent): Promise<Check[]> {
  const r = await agent.cli(['doctor', '--json']);
  return JSON.parse(r.stdout).checks;
}

describe.runIf(asRoot)('doctor: unsafe enforcer paths and test hooks (not enrolled)', () => {
  it('reports a file target behind a symlink another user planted, and the active test hooks', async () => {
    const dir = tempDir('unsafe-doctor');
    mkdirSync(join(dir, 'real'));
    chmodSync(dir, 0o1777);
    symlinkSync(join(dir, 'real'), join(dir, 'kiosk'));
    lchownSync(join(dir, 'kiosk'), OTHER, OTHER);
    const agent = new TestAgent('unsafe-doctor', { config: { apps: [{ name: 'file', path: join(dir, 'kiosk', 'mode.json') }] } });
    const checks = await doctor(agent);
    expect(checks.find((c) => c.name === 'enforcer:file')).toMatchObject({ status: 'fail', message: expect.stringMatching(/kiosk is owned by uid 65534/) });
    expect(checks.find((c) => c.name === 'test-hooks')).toMatchObject({
      status: 'warn', message: expect.stringMatching(/DEVLIC_FAKE_NOW_FILE=.*DEVLIC_FAKE_IDENTITY_FILE=.*this clock is fake/),
    });
    expect(readdirSync(join(dir, 'real'))).toEqual([]);
  });
});

describe.runIf(asRoot)('a hook that became unsafe after it ran (real agent)', () => {
  let lab: Lab | undefined;
  let agent: TestAgent | undefined;
  afterAll(async () => {
    await agent?.stop();
    await lab?.svc.stop();
  });

  it('is reported at the next apply and by doctor, and not run again', async () => {
    lab = await startLab();
    const bin = join(tempDir('unsafe-hook'), 'bin');
    mkdirSync(bin);
    const count = join(bin, '..', 'count');
    const hook = join(bin, 'hook.sh');
    writeFileSync(hook, `#!/bin/sh\necho "$DEVLIC_MODE" >> '${count}'\n`);
    chmodSync(hook, 0o755);
    agent = new TestAgent('unsafe-hook', { config: { apps: [{ name: 'file' }, { name: 'hook', path: hook }] } });
    expect((await agent.enroll(lab.svc.url, await lab.enrollToken())).code).toBe(0);
    await agent.start();
    await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 20_000);
    await waitFor('hook ran', () => existsSync(count) || undefined, 20_000, 50);
    const ran = readFileSync(count, 'utf8');
    const hookState = async () => (await agent!.status()).enforcers.find((e: { name: string }) => e.name === 'hook');
    await waitFor('hook applied', async () => (await hookState())?.ok === true || undefined, 20_000, 100);
    await agent.stop();

    // A user group gets write access to the hook's folder: it could swap the script.
    chownSync(bin, 0, OTHER);
    chmodSync(bin, 0o775);
    await agent.start(); // start applies again (forced), with the same target
    const h = await waitFor('hook refused', async () => {
      const s = await hookState();
      return s && !s.ok ? s : undefined;
    }, 20_000, 100);
    expect(h.error).toMatch(/bin is group-writable \(gid 65534\)/);
    expect(h.detail).toMatchObject({ code: 'UNSAFE_PATH' });
    expect(readFileSync(count, 'utf8')).toBe(ran);
    const checks = await doctor(agent);
    expect(checks.find((c) => c.name === 'enforcer:hook')).toMatchObject({ status: 'fail', message: expect.stringMatching(/group-writable/) });
    expect(readFileSync(count, 'utf8')).toBe(ran);
  }, 90_000);
});
