// Real viewer mode, end to end, with the LibreOffice that has it (26.8 from
// Debian trixie-backports) in a cached trixie chroot (test/chroot/
// build-lo-chroot.sh; .ci/run builds it before the tests, this test never
// does: it takes minutes). What runs where:
//   - INSIDE the chroot (test/chroot/in-chroot.sh: own mount namespace,
//     proc/devpts/shm, this repo read-only at /devlic): the agent's own config
//     loader and enforcers under the repo's pinned node
//     (fixtures/enforce/agent-apply.ts), a fresh headless soffice per check,
//     and fixtures/enforce/lo_viewer_probe.py (the chroot's python3-uno),
//     which reads the configuration and tries what a user would do with a
//     document opened normally.
//   - On the HOST: the enforcer with installRoot inside the chroot and
//     `sysroot` set, proving the chroot's absolute symlinks (main.xcd ->
//     /etc/libreoffice/registry/main.xcd) are resolved inside it.
// Without the chroot (or not root) this skips loudly; with
// DEVLIC_REQUIRE_REAL_APPS=1 it fails instead.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYER_FILE, createLibreOfficeEnforcer } from '../../agent/enforce/libreoffice.ts';
import type { ApplyResult, CheckResult } from '../../agent/enforce/types.ts';
import { REPO_INSIDE, chrootDir, chrootMissing, killGroup, lastJson, runIn, startIn, stampVersions } from '../helpers/lo-chroot.ts';

const required = process.env.DEVLIC_REQUIRE_REAL_APPS === '1';
const C = chrootDir();
const missing = chrootMissing(C);
if (missing && !required) {
  console.warn(`\n!!!!!!!! SKIPPING the LibreOffice viewer-mode chroot test: ${missing}.\n!!!!!!!! Set DEVLIC_REQUIRE_REAL_APPS=1 to make this a failure.\n`);
}
const skip = missing !== undefined;

const INSTALL = '/usr/lib/libreoffice'; // inside the chroot
const LAYER = join(C, INSTALL, 'share/registry', LAYER_FILE);
const WORK_IN = `/tmp/devlic-viewer-${process.pid}`; // inside the chroot
const WORK = join(C, WORK_IN);
const DOC_IN = `${WORK_IN}/doc.fodt`;
const NODE_IN = `${REPO_INSIDE}/node_modules/.bin/node`;

interface Prop { present: boolean; value?: unknown; finalized?: boolean }
interface Probe {
  config: { ViewerAppMode: Prop; ShowTipOfTheDay: Prop };
  readonly: boolean;
  enabled: Record<string, boolean | null>;
  typed: boolean;
  save: { fileChanged: boolean };
  store: { result: string; fileChanged: boolean };
  storeAsURL: { result: string; written: boolean };
  pdf: { result: string; written: boolean };
  print: { result: string; written: boolean };
}

const DOC = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:body><office:text><text:p>devlic viewer-mode test document</text:p></office:text></office:body>
</office:document>
`;
// The user's own settings: ViewerAppMode false must not win against the
// finalized layer; ShowTipOfTheDay false (default true) shows the file is read.
const USER_XCU = `<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ViewerAppMode" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
`;

let runs = 0;
const timings: string[] = [];
const testStart = Date.now();

/**
 * soffice's pipes are sockets in the chroot's /tmp (a fixed place, not
 * TMPDIR) and outlive a killed office: remove ours, the named ones and the
 * single-instance ones made while this test ran (the chroot is this test's alone).
 */
function removeOurPipes(): void {
  const tmp = join(C, 'tmp');
  for (const n of readdirSync(tmp)) {
    const p = join(tmp, n);
    const ours = n.startsWith(`OSL_PIPE_0_devlic-viewer-${process.pid}-`)
      || (n.startsWith('OSL_PIPE_0_SingleOfficeIPC_') && lstatSync(p).mtimeMs >= testStart - 1000);
    if (ours) rmSync(p, { force: true });
  }
}

/** The agent's enforcers inside the chroot, for one mode. */
async function agentApply(mode: 'full' | 'read-only'): Promise<{ results: ApplyResult[]; checks: CheckResult[] }> {
  const r = await runIn(C, [NODE_IN, `${REPO_INSIDE}/test/fixtures/enforce/agent-apply.ts`, `${WORK_IN}/agent.json`, mode], 120_000);
  return lastJson(r, `agent-apply ${mode} in the chroot`);
}

/** A fresh soffice in the chroot (with a user profile holding USER_XCU) and the probe against it. */
async function probe(): Promise<{ probe: Probe; outDir: string }> {
  const n = ++runs;
  const home = `${WORK_IN}/home-${n}`;
  const outIn = `${WORK_IN}/out-${n}`;
  mkdirSync(join(C, home, 'profile/user'), { recursive: true });
  mkdirSync(join(C, home, 'tmp'));
  mkdirSync(join(C, outIn));
  writeFileSync(join(C, home, 'profile/user/registrymodifications.xcu'), USER_XCU);
  writeFileSync(join(C, DOC_IN), DOC);
  const pipe = `devlic-viewer-${process.pid}-${n}`;
  const started = Date.now();
  const office = startIn(C, ['/usr/bin/env', `HOME=${home}`, `TMPDIR=${home}/tmp`, `${INSTALL}/program/soffice`,
    '--headless', '--invisible', '--norestore', '--nologo', '--nodefault',
    `-env:UserInstallation=file://${home}/profile`, `--accept=pipe,name=${pipe};urp;`]);
  const exited = new Promise<void>((res) => office.on('close', () => res()));
  try {
    const r = await runIn(C, ['/usr/bin/env', `HOME=${home}`, '/usr/bin/python3',
      `${REPO_INSIDE}/test/fixtures/enforce/lo_viewer_probe.py`, pipe, DOC_IN, outIn], 150_000);
    return { probe: lastJson<Probe>(r, 'lo_viewer_probe.py in the chroot'), outDir: join(C, outIn) };
  } finally {
    killGroup(office); // terminate() was asked for; nothing may linger
    await exited;
    timings.push(`${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

describe('LibreOffice viewer mode, for real, in a trixie-backports chroot', () => {
  if (missing && required) {
    it('has the LibreOffice chroot (DEVLIC_REQUIRE_REAL_APPS=1)', () => {
      throw new Error(`the viewer-mode chroot is required but ${missing}`);
    });
  }

  let expectVersion = '';
  let layerFromAgent = '';

  beforeAll(() => {
    if (skip) return;
    // "4:26.8.3.1-3~bpo13+1" -> "26.8.3.1", what main.xcd says.
    expectVersion = (stampVersions(C)['libreoffice-core'] ?? '').match(/^(?:\d+:)?([\d.]+)/)?.[1] ?? '';
    rmSync(LAYER, { force: true }); // a leftover of an interrupted run
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(WORK, { mode: 0o755 });
    writeFileSync(join(WORK, 'agent.json'), JSON.stringify({ apps: [{ name: 'libreoffice' }] }), { mode: 0o644 });
  });
  afterAll(() => {
    if (skip) return;
    rmSync(LAYER, { force: true });
    rmSync(WORK, { recursive: true, force: true });
    removeOurPipes();
    console.log(`viewer-mode chroot: soffice runs ${timings.join(', ')}`);
  });

  it.skipIf(skip)('the chroot is what the test is about: LibreOffice 26.8+, main.xcd an absolute symlink', () => {
    expect(Number(expectVersion.split('.')[0])).toBeGreaterThanOrEqual(26);
    const main = join(C, INSTALL, 'share/registry/main.xcd');
    expect(lstatSync(main).isSymbolicLink()).toBe(true);
    expect(readlinkSync(main)).toMatch(/^\//);
  });

  it.skipIf(skip)('unassigned (read-only): the agent in the chroot writes the layer; soffice is in viewer mode against the user\'s own false; the document is read-only', async () => {
    const { results, checks } = await agentApply('read-only');
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ enforcer: 'libreoffice', ok: true, changed: true, detail: { installRoot: INSTALL, version: expectVersion, supported: true, layerPresent: true } });
    expect(checks[0]).toMatchObject({ ok: true });
    expect(statSync(LAYER).mode & 0o777).toBe(0o644);
    layerFromAgent = readFileSync(LAYER, 'utf8');

    const { probe: p, outDir } = await probe();
    expect(p.config.ViewerAppMode).toEqual({ present: true, value: true, finalized: true });
    expect(p.config.ShowTipOfTheDay).toEqual({ present: true, value: false, finalized: false }); // the user's file was read
    expect(p.readonly).toBe(true);
    expect(p.typed).toBe(false);
    expect(p.enabled['.uno:Save']).toBe(false);
    expect(p.enabled['.uno:InsertText']).toBe(false);
    expect(p.save.fileChanged).toBe(false);
    expect(p.store).toEqual({ result: expect.stringMatching(/IOException/), fileChanged: false });
    expect(p.storeAsURL).toEqual({ result: expect.stringMatching(/IOException/), written: false });
    expect(readFileSync(join(C, DOC_IN), 'utf8')).toBe(DOC);
    // PDF export is refused in viewer mode (LibreOffice 26.8)...
    expect(p.enabled['.uno:ExportDirectToPDF']).toBe(false);
    expect(p.pdf).toEqual({ result: expect.stringMatching(/IOException/), written: false });
    // ...printing is not: the print job is produced (with no printer set up,
    // LibreOffice prints to the file as PDF). README promises "printable" on this.
    expect(p.enabled['.uno:Print']).toBe(true);
    expect(p.print).toEqual({ result: 'ok', written: true });
    expect(readFileSync(join(outDir, 'print.ps')).subarray(0, 4).toString()).toMatch(/^%(PDF|!PS)/);
  }, 300_000);

  it.skipIf(skip)('assigned (full): the agent removes the layer; the same user gets an editable document', async () => {
    const { results } = await agentApply('full');
    expect(results[0]).toMatchObject({ ok: true, changed: true, detail: { layerPresent: false, version: expectVersion } });
    expect(existsSync(LAYER)).toBe(false);

    const { probe: p, outDir } = await probe();
    expect(p.config.ViewerAppMode).toEqual({ present: true, value: false, finalized: false });
    expect(p.readonly).toBe(false);
    expect(p.typed).toBe(true);
    expect(p.enabled['.uno:Save']).toBe(true);
    expect(p.save.fileChanged).toBe(true);
    expect(readFileSync(join(C, DOC_IN), 'utf8')).toContain('typed by the probe');
    expect(p.store.result).toBe('ok');
    expect(p.storeAsURL).toEqual({ result: 'ok', written: true });
    expect(p.pdf).toEqual({ result: 'ok', written: true });
    expect(existsSync(join(outDir, 'copy.odt'))).toBe(true);
  }, 300_000);

  it.skipIf(skip)('from the host, installRoot inside the chroot with sysroot: the chroot\'s own main.xcd and version, the same layer', async () => {
    const e = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: join(C, INSTALL), sysroot: C }, { platform: 'linux' });
    const r = await e.apply({ mode: 'read-only', reason: 'NOT_ASSIGNED', users: [] });
    expect(r).toMatchObject({ ok: true, changed: true, detail: { version: expectVersion, supported: true, layer: LAYER } });
    expect(readFileSync(LAYER, 'utf8')).toBe(layerFromAgent);
    expect(await e.check()).toMatchObject({ ok: true, message: expect.stringContaining(`LibreOffice ${expectVersion}`) });
    expect(await e.apply({ mode: 'full', reason: 'ASSIGNED', users: [] })).toMatchObject({ ok: true, changed: true });
    expect(existsSync(LAYER)).toBe(false);
  }, 60_000);

  it.skipIf(skip)('leaves nothing mounted in the chroot (the mounts live in each command\'s own namespace)', () => {
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter(Boolean);
    expect(mounts.filter((m) => m === C || m.startsWith(`${C}/`))).toEqual([]);
  });
});
