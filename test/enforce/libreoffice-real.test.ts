// The LibreOffice enforcer against the real LibreOffice installed on this
// machine (Debian: apt-get install --no-install-recommends libreoffice-core
// python3-uno). It writes into the real /usr/lib/libreoffice/share/registry
// (CI machines are disposable; the layer is removed afterwards), starts a
// headless soffice and reads the configuration back over UNO with the
// system python3 (test/fixtures/enforce/lo_readback.py).
//
// Without LibreOffice or python3-uno this test skips loudly; with
// DEVLIC_REQUIRE_REAL_APPS=1 it fails instead, so CI cannot pass by skipping.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYER_FILE, createLibreOfficeEnforcer, findInstall, writeLayer } from '../../agent/enforce/libreoffice.ts';
import { VIEWER_MODE_ITEM } from '../../agent/enforce/lo-layer.ts';
import { fixture } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
const MISC = '/org.openoffice.Office.Common/Misc';
const TIP = { path: MISC, prop: 'ShowTipOfTheDay', value: false };
const required = process.env.DEVLIC_REQUIRE_REAL_APPS === '1';

function findSoffice(): string | undefined {
  for (const p of ['/usr/lib/libreoffice/program/soffice', '/usr/bin/soffice']) {
    if (existsSync(p)) return realpathSync(p);
  }
  return undefined;
}

const soffice = findSoffice();
const missing = !soffice
  ? 'soffice not found (apt-get install --no-install-recommends libreoffice-core)'
  : spawnSync(PYTHON, ['-c', 'import uno'], { stdio: 'ignore' }).status !== 0
    ? `${PYTHON} cannot import uno (apt-get install --no-install-recommends python3-uno)`
    : undefined;
if (missing && !required) {
  console.warn(`\n!!!!!!!! SKIPPING the real-LibreOffice test: ${missing}.\n!!!!!!!! Set DEVLIC_REQUIRE_REAL_APPS=1 to make this a failure.\n`);
}
// When required, the explicit failing test below stands for these.
const skip = missing !== undefined;
// <install>/program/soffice -> <install>
const installRoot = soffice ? dirname(dirname(soffice)) : '/usr/lib/libreoffice';

interface PropState { present: boolean; value?: unknown; finalized?: boolean }

let profile = '';
let runs = 0;
const timings: number[] = [];

/** Starts soffice, reads the props over UNO, stops it; ~seconds. */
async function readBack(props: string[]): Promise<Record<string, PropState>> {
  const pipe = `devlic-test-${process.pid}-${++runs}`;
  const started = Date.now();
  const office = spawn(soffice!, [
    '--headless', '--invisible', '--norestore', '--nologo', '--nodefault',
    `-env:UserInstallation=file://${profile}`, `--accept=pipe,name=${pipe};urp;`,
  ], { detached: true, stdio: 'ignore', env: { ...process.env, HOME: profile } });
  const exited = new Promise<void>((res) => office.on('exit', () => res()));
  try {
    const py = spawnSync(PYTHON, [fixture('lo_readback.py'), pipe, MISC, ...props], { encoding: 'utf8', timeout: 90_000 });
    if (py.status !== 0) throw new Error(`lo_readback.py failed (${py.status ?? py.signal}): ${py.stderr}`);
    const line = py.stdout.trim().split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`no JSON from lo_readback.py: ${py.stdout} ${py.stderr}`);
    return (JSON.parse(line) as { props: Record<string, PropState> }).props;
  } finally {
    // terminate() was asked for; the group kill makes sure nothing lingers.
    try {
      process.kill(-office.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    timings.push(Date.now() - started);
  }
}

const layerPath = join(installRoot, 'share', 'registry', LAYER_FILE);

describe('LibreOffice enforcer with the real LibreOffice', () => {
  if (missing && required) {
    it('has LibreOffice and python3-uno (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
      throw new Error(`real LibreOffice required but ${missing}`);
    });
  }

  beforeAll(() => {
    if (skip) return;
    profile = mkdtempSync(join(tmpdir(), 'devlic-lo-profile-'));
    rmSync(layerPath, { force: true }); // a leftover from an interrupted run
  });
  afterAll(() => {
    if (skip) return;
    rmSync(layerPath, { force: true });
    rmSync(profile, { recursive: true, force: true });
    console.log(`real LibreOffice read-backs: ${timings.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')}`);
  });

  it.skipIf(skip)('read-only: ViewerAppMode support as reported matches what LibreOffice itself says', async () => {
    const install = await findInstall([installRoot]);
    expect(install?.registryDir).toBe(dirname(layerPath));
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot }, { platform: 'linux' });
    const r = await e.apply({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: [] });
    expect(existsSync(layerPath)).toBe(true);
    const seen = await readBack(['ViewerAppMode']);
    const supported = (r.detail as { supported: boolean }).supported;
    // The schema reading agrees with the running office.
    expect(seen.ViewerAppMode.present).toBe(supported);
    if (supported) {
      expect(r.ok).toBe(true);
      expect(seen.ViewerAppMode).toEqual({ present: true, value: true, finalized: true });
    } else {
      expect(r.ok).toBe(false);
      expect(r.applied).toContain(`unsupported by this LibreOffice version (${install?.version})`);
    }
  }, 120_000);

  it.skipIf(skip)('the layer writer finalizes an item this version has (ShowTipOfTheDay)', async () => {
    await writeLayer(dirname(layerPath), [TIP, VIEWER_MODE_ITEM]);
    const seen = await readBack(['ShowTipOfTheDay', 'ViewerAppMode']);
    // Our value (the default is true) and finalized: users cannot override it.
    expect(seen.ShowTipOfTheDay).toEqual({ present: true, value: false, finalized: true });
    if (seen.ViewerAppMode.present) expect(seen.ViewerAppMode).toEqual({ present: true, value: true, finalized: true });
  }, 120_000);

  it.skipIf(skip)('full removes the layer and the item is no longer finalized', async () => {
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot }, { platform: 'linux' });
    const r = await e.apply({ mode: 'full', reason: 'ASSIGNED', users: [] });
    expect(r).toMatchObject({ ok: true, changed: true });
    expect(existsSync(layerPath)).toBe(false);
    const seen = await readBack(['ShowTipOfTheDay']);
    expect(seen.ShowTipOfTheDay).toEqual({ present: true, value: true, finalized: false });
  }, 120_000);
});
