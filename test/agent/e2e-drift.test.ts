// Drift repaired end to end: a real devlic-agent process (drift check every
// second here, verifySchedule) against a real devlic-server, with the file
// enforcer and the LibreOffice enforcer on a LibreOffice install made for the
// test (a registry whose schema has ViewerAppMode, as 26.8's does). Things are
// changed behind the agent's back: the layer deleted, made 0600 (LibreOffice
// aborts for users), the mode file deleted; each is repaired and logged as
// drift-repaired, and `status` shows the last one. LibreOffice swapped for a
// version without ViewerAppMode makes the enforcer fail: logged once, not at
// every pass, and the service's devices list says the device is not enforced.
// `refresh` without a running agent runs the drift check too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, TestAgent, type Lab } from './helpers/agent.ts';
import { tempDir, waitFor } from '../helpers/processes.ts';
import { mainXcd } from '../helpers/fake-libreoffice.ts';

const LAYER = 'devlic-viewer-mode.xcd';

let lab: Lab;
let agent: TestAgent;
let deviceId = '';
const root = join(tempDir('drift-lo'), 'libreoffice');
const registry = join(root, 'share', 'registry');
const layer = join(registry, LAYER);

/** The agent's JSON log lines so far. */
const lines = () => agent.output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const repairs = (enforcer: string) => lines().filter((l) => l.event === 'drift-repaired' && l.enforcer === enforcer);

beforeAll(async () => {
  mkdirSync(registry, { recursive: true });
  writeFileSync(join(registry, 'main.xcd'), mainXcd('26.8.0.1', true));
  lab = await startLab();
  agent = new TestAgent('drift', {
    config: { verifySchedule: '* * * * * *', statusSchedule: '* * * * * *', apps: [{ name: 'file' }, { name: 'libreoffice', installRoot: root }] },
  });
  const r = await agent.enroll(lab.svc.url, await lab.enrollToken());
  expect(r.code, r.stderr).toBe(0);
  deviceId = JSON.parse(r.stdout).deviceId;
  await agent.start();
  await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 30_000);
  await waitFor('the viewer-mode layer', () => existsSync(layer), 20_000);
});

afterAll(async () => {
  await agent?.stop();
  await lab?.svc.stop();
});

describe('drift repaired by the running agent', () => {
  it('the LibreOffice layer deleted, then made 0600: written again, 0644', async () => {
    rmSync(layer);
    await waitFor('drift-repaired for the deleted layer', () => repairs('libreoffice').length === 1, 20_000);
    expect(repairs('libreoffice')[0].drift).toEqual([`viewer-mode layer missing in ${registry}`]);
    expect(statSync(layer).mode & 0o777).toBe(0o644);
    expect(readFileSync(layer, 'utf8')).toMatch(/oor:name="ViewerAppMode" oor:finalized="true"/);

    chmodSync(layer, 0o600);
    await waitFor('drift-repaired for the 0600 layer', () => repairs('libreoffice').length === 2, 20_000);
    expect(repairs('libreoffice')[1].drift).toEqual([`viewer-mode layer permissions 0600 (wanted 0644) in ${registry}`]);
    expect(statSync(layer).mode & 0o777).toBe(0o644);
  });

  it('the mode file deleted: written again; status shows the last repair', async () => {
    rmSync(join(agent.dataDir, 'app-mode.json'));
    await waitFor('drift-repaired for the mode file', () => repairs('file').length === 1, 20_000);
    expect(agent.appMode()).toMatchObject({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' });
    const st = await agent.status();
    expect(st.lastDrift).toMatchObject({ enforcer: 'file', drift: ['mode file missing'], cause: 'schedule' });
    expect(st.enforcers.every((e: any) => e.ok)).toBe(true);
    const text = await agent.cli(['status']);
    expect(text.stdout).toMatch(/Last drift\s+\S+ file: mode file missing; applied again/);
    const events = await agent.logs(['--type', 'drift-repaired']);
    expect(events.map((e) => e.fields?.enforcer ?? e.enforcer)).toEqual(['libreoffice', 'libreoffice', 'file']);
  });

  it('the service sees the device enforced', async () => {
    const dev = await waitFor('an enforced report', async () => {
      const d = (await lab.admin.ok('GET', `/devices/${deviceId}`));
      return d.enforcement.ok === true ? d : null;
    }, 30_000);
    expect(dev.enforcement).toEqual({ ok: true, failing: [] });
  });

  it('LibreOffice replaced by one without ViewerAppMode: failing, logged once, reported to the service as not enforced', async () => {
    writeFileSync(join(registry, 'main.xcd'), mainXcd('7.4.7.2', false));
    const failed = () => lines().filter((l) => l.level === 50 && l.enforcer === 'libreoffice');
    await waitFor('the enforcer failing', () => failed().length >= 1, 20_000);
    const dev = await waitFor('the not-enforced report', async () => {
      const d = await lab.admin.ok('GET', `/devices/${deviceId}`);
      return d.enforcement.ok === false ? d : null;
    }, 30_000);
    expect(dev.enforcement.failing).toEqual([{ enforcer: 'libreoffice', reason: expect.stringMatching(/LibreOffice 7\.4\.7\.2 does not have .*ViewerAppMode/) }]);
    // Three more retries (one a second here; `at` moves each time), still one error line.
    const at = async () => (await agent.status()).enforcers.find((e: any) => e.name === 'libreoffice').at;
    const seen = new Set<string>([await at()]);
    await waitFor('three more passes', async () => { seen.add(await at()); return seen.size >= 4; }, 30_000, 200);
    expect(failed()).toHaveLength(1);
    expect((await agent.logs(['--type', 'error'])).filter((e) => (e.fields?.enforcer ?? e.enforcer) === 'libreoffice')).toHaveLength(1);
    const doctor = await agent.cli(['doctor', '--json']);
    const checks = JSON.parse(doctor.stdout).checks;
    expect(checks.find((c: any) => c.name === 'enforcer:libreoffice')).toMatchObject({ status: 'fail', message: expect.stringMatching(/ViewerAppMode is not supported/) });
    expect(checks.find((c: any) => c.name === 'last-drift').message).toMatch(/file: mode file missing; applied again/);
    writeFileSync(join(registry, 'main.xcd'), mainXcd('26.8.0.1', true));
    await waitFor('enforced again', async () => (await lab.admin.ok('GET', `/devices/${deviceId}`)).enforcement.ok === true, 30_000);
  });
});

describe('refresh without a running agent', () => {
  it('runs the drift check and repairs', async () => {
    await agent.stop();
    rmSync(layer);
    const r = await agent.cli(['refresh', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.via).toBe('direct');
    expect(out.drift).toEqual([{ enforcer: 'libreoffice', drift: [`viewer-mode layer missing in ${registry}`], ok: true, changed: true }]);
    expect(statSync(layer).mode & 0o777).toBe(0o644);
    expect((await agent.status()).lastDrift).toMatchObject({ enforcer: 'libreoffice', cause: 'refresh' });
  });
});
