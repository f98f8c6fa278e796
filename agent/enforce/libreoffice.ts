// LibreOffice enforcer: read-only = a system-wide configuration layer
// `devlic-viewer-mode.xcd` in the install's share/registry that sets
// /org.openoffice.Office.Common/Misc/ViewerAppMode=true, finalized; full =
// that file removed. See docs/design.md ("How the apps are switched").
//
// LibreOffice ignores layer items its schema does not declare, silently, so
// after writing we look the item up in the install's own schema (main.xcd)
// and report "unsupported by this LibreOffice version" rather than claim
// read-only (ViewerAppMode exists in 26.8; 25.2 and Debian 12's 7.4 lack it).
// The real-app test (test/enforce/libreoffice-real.test.ts) checks this
// schema reading against what a running LibreOffice reports over UNO.
//
// Every install found is switched (Debian's package and TDF's /opt ones can
// sit side by side, and users start either). `sysroot` names a chroot or
// container image the installs live in: their absolute symlinks (Debian's
// registry links into /etc) are then resolved inside it, never on the host.
import { promises as fsp, constants as fsc } from 'node:fs';
import { join, posix } from 'node:path';
import Type from 'typebox';
import type { ApplyResult, CheckResult, EnforcementTarget, Enforcer, VerifyResult } from './types.ts';
import { absentFileDrift, exactFileDrift, observeFile, type ObservedFile } from './drift.ts';
import { errorText, readIfExists, readRegular, removeFile, removeStaleTemps, writeSafeFile } from '../host/fsutil.ts';
import { assertSafeDir, below, UnsafePathError, walkSafe } from '../host/safe-path.ts';
import { AbsPath, defineEnforcer } from './descriptor.ts';
import { buildLayer, checkLayer, schemaDeclares, VIEWER_MODE_ITEM, type LayerItem } from './lo-layer.ts';
import { defaultInstallRoots, readInstallFile, scanInstalls, type LibreOfficeInstall, type Scan } from './lo-install.ts';

export { defaultInstallRoots, findInstall, findInstalls, type LibreOfficeInstall } from './lo-install.ts';

export const LAYER_FILE = 'devlic-viewer-mode.xcd';
/** 0644: LibreOffice runs as the signed-in user; a 0600 layer makes it abort. */
const LAYER_MODE = 0o644;
const RESTART_NOTE = 'running LibreOffice instances keep their mode until restarted';

export const LibreOfficeConfig = Type.Object({
  name: Type.Literal('libreoffice'),
  /**
   * One install or a list; every one must hold a registry. Default: every
   * one of defaultInstallRoots() that holds a registry (none: an error).
   */
  installRoot: Type.Optional(Type.Union([AbsPath, Type.Array(AbsPath, { minItems: 1, maxItems: 16 })])),
  /**
   * A chroot or container image the installs live in (host path). The usual
   * places are looked up inside it, installRoot must lie inside it, and
   * symlinks are resolved as inside it.
   */
  sysroot: Type.Optional(AbsPath),
}, { additionalProperties: false });
export type LibreOfficeConfig = Type.Static<typeof LibreOfficeConfig>;

/** Whether the install's schema declares the item (undefined: schema not found). */
export async function installSupports(install: LibreOfficeInstall, item: LayerItem): Promise<boolean | undefined> {
  const names = (await fsp.readdir(install.registryDir)).filter((n) => n.endsWith('.xcd') && n !== LAYER_FILE);
  // main.xcd holds the office schema; read it first and the rest only if needed.
  names.sort((a, b) => (a === 'main.xcd' ? -1 : b === 'main.xcd' ? 1 : a.localeCompare(b)));
  for (const n of names) {
    const text = await readInstallFile(join(install.registryDir, n), install.sysroot);
    if (text === undefined) continue; // a dangling link
    const r = schemaDeclares([text], item);
    if (r !== undefined) return r;
  }
  return undefined;
}

/**
 * Writes (or keeps) the layer with these items in `registryDir`. Returns
 * whether the file changed. Exported so tests can prove the writer with an
 * item an old LibreOffice has (ShowTipOfTheDay).
 */
export async function writeLayer(registryDir: string, items: readonly LayerItem[]): Promise<{ path: string; changed: boolean }> {
  const path = join(registryDir, LAYER_FILE);
  const text = buildLayer(items);
  checkLayer(text);
  await removeStaleTemps(path);
  // Never through a symlink, and only a file root owns counts as ours; a
  // wrong mode is repaired by rewriting rather than a chmod that would follow a link.
  if (exactFileDrift('layer', observeFile(await readRegular(path)), text, LAYER_MODE, agentUid()).length === 0) return { path, changed: false };
  await writeSafeFile(path, text, LAYER_MODE, (written) => {
    if (written !== text) throw new Error('layer read back differs from what was written');
    checkLayer(written);
  });
  return { path, changed: true };
}

/**
 * What differs between the layer at this path and what `mode` wants: for
 * read-only our exact text, 0644, owned by root; for full, nothing there.
 * writeLayer() rewrites exactly when this finds something.
 */
export function layerDrift(mode: EnforcementTarget['mode'], obs: ObservedFile | null, myUid = agentUid()): string[] {
  if (mode === 'full') return absentFileDrift('viewer-mode layer', obs);
  return exactFileDrift('viewer-mode layer', obs, buildLayer([VIEWER_MODE_ITEM]), LAYER_MODE, myUid);
}

/** Root's or the agent's own files are ours; Windows has no uids. */
const agentUid = () => (process.platform === 'win32' ? undefined : process.getuid?.());

/**
 * The layer goes into a system directory that every LibreOffice user reads:
 * refused unless only root can change it and everything on the way to it
 * (see host/safe-path.ts). Root's own symlinks are fine: Debian's registry folder
 * is one (share/registry -> /etc/libreoffice/registry, whose main.xcd links
 * back to share/.registry); the install's .xcd files are only read.
 */
async function safeRegistry(registryDir: string, platform: NodeJS.Platform): Promise<void> {
  try {
    await assertSafeDir(registryDir, { platform });
  } catch (e) {
    throw e instanceof UnsafePathError ? e.for(`to write the LibreOffice layer in ${registryDir}`) : e;
  }
}

/** The installs to switch, configured roots that hold none, and refused ones (an error each). */
async function locateInstalls(config: LibreOfficeConfig, platform: NodeJS.Platform): Promise<{ installs: LibreOfficeInstall[]; missing: string[]; unsafe: Scan['unsafe'] }> {
  const configured = config.installRoot === undefined ? undefined
    : typeof config.installRoot === 'string' ? [config.installRoot] : config.installRoot;
  if (config.sysroot !== undefined) for (const r of configured ?? []) below(config.sysroot, r); // throws NOT_IN_ROOT
  const { installs, absent, unsafe } = await scanInstalls(configured ?? await defaultInstallRoots(platform, config.sysroot), config.sysroot);
  // The usual places may be empty; a configured root must hold an install.
  return { installs, missing: configured ? absent : [], unsafe };
}

/** One result from one per install: a single install reports as it always did; several list theirs in detail.installs. */
function combine(name: string, parts: { where: string; r: ApplyResult }[]): ApplyResult {
  if (parts.length === 1) return parts[0].r;
  const failed = parts.filter((p) => !p.r.ok);
  return {
    enforcer: name,
    ok: failed.length === 0,
    changed: parts.some((p) => p.r.changed),
    applied: parts.map((p) => `${p.where}: ${p.r.applied}`).join('; '),
    detail: { installs: parts.map((p) => p.r.detail ?? { installRoot: p.where }) },
    ...(failed.length ? { error: failed.map((p) => `${p.where}: ${p.r.error ?? 'failed'}`).join('; ') } : {}),
  };
}

async function applyOne(name: string, install: LibreOfficeInstall, target: EnforcementTarget, platform: NodeJS.Platform): Promise<ApplyResult> {
  try {
    const layerPath = join(install.registryDir, LAYER_FILE);
    await safeRegistry(install.registryDir, platform);
    const base = { installRoot: install.root, layer: layerPath, version: install.version ?? 'unknown' };
    if (target.mode === 'full') {
      await removeStaleTemps(layerPath);
      const changed = await removeFile(layerPath);
      return {
        enforcer: name, ok: true, changed,
        applied: `full: viewer-mode layer absent; ${RESTART_NOTE}`,
        detail: { ...base, layerPresent: false },
      };
    }
    const { changed } = await writeLayer(install.registryDir, [VIEWER_MODE_ITEM]);
    const supported = await installSupports(install, VIEWER_MODE_ITEM);
    const detail = { ...base, layerPresent: true, supported: supported === true, verifiedBy: 'schema of the install (main.xcd)' };
    if (supported === true) {
      return {
        enforcer: name, ok: true, changed,
        applied: `read-only: viewer-mode layer written (ViewerAppMode=true, finalized); ${RESTART_NOTE}`,
        detail,
      };
    }
    const v = install.version ?? 'unknown version';
    return {
      enforcer: name, ok: false, changed,
      applied: `read-only layer written; unsupported by this LibreOffice version (${v}): LibreOffice still edits`,
      detail,
      error: supported === false
        ? `LibreOffice ${v} does not have /org.openoffice.Office.Common/Misc/ViewerAppMode (added in newer versions, e.g. 26.8); upgrade LibreOffice to enforce read-only`
        : `could not find the Office.Common schema in ${install.registryDir} to confirm ViewerAppMode support`,
    };
  } catch (e) {
    return {
      enforcer: name, ok: false, changed: false,
      applied: 'unknown: could not update the LibreOffice layer',
      detail: { installRoot: install.root, ...(e instanceof UnsafePathError ? { code: e.code } : {}) },
      error: errorText(e),
    };
  }
}

async function checkOne(name: string, install: LibreOfficeInstall, platform: NodeJS.Platform): Promise<CheckResult> {
  const where = `LibreOffice ${install.version ?? '(version unknown)'} at ${install.root}`;
  try {
    await safeRegistry(install.registryDir, platform);
  } catch (e) {
    if (e instanceof UnsafePathError) return { enforcer: name, ok: false, message: `${where}: ${e.message}` };
    throw e;
  }
  try {
    await fsp.access(install.registryDir, fsc.W_OK);
  } catch {
    return { enforcer: name, ok: false, message: `${where}: ${install.registryDir} is not writable (the agent must run as root)` };
  }
  const supported = await installSupports(install, VIEWER_MODE_ITEM);
  if (supported !== true) {
    return { enforcer: name, ok: false, message: `${where}: ViewerAppMode is not supported by this version, so read-only cannot be enforced` };
  }
  return { enforcer: name, ok: true, message: `${where}: registry writable, ViewerAppMode supported` };
}

export function createLibreOfficeEnforcer(
  config: LibreOfficeConfig,
  ctx: { platform: NodeJS.Platform },
): Enforcer {
  const name = 'libreoffice';
  const absent = (root: string) => `no LibreOffice registry (share/registry/main.xcd) under ${root}`;
  const notFound = config.installRoot === undefined
    ? `LibreOffice not found in its usual places${config.sysroot ? ` inside ${config.sysroot}` : ''}; set installRoot`
    : undefined;

  // The schema is megabytes: read again only when main.xcd changes (an upgrade).
  // One entry per install (every install found is enforced).
  const support = new Map<string, { key: string; value: boolean | undefined }>();
  const supportCached = async (install: LibreOfficeInstall) => {
    const st = await fsp.stat(join(install.registryDir, 'main.xcd'));
    const key = `${st.ino}\0${st.size}\0${st.mtimeMs}`;
    let entry = support.get(install.registryDir);
    if (entry?.key !== key) {
      entry = { key, value: await installSupports(install, VIEWER_MODE_ITEM) };
      support.set(install.registryDir, entry);
    }
    return entry.value;
  };

  return {
    name,
    async apply(target: EnforcementTarget): Promise<ApplyResult> {
      let found;
      try {
        found = await locateInstalls(config, ctx.platform);
      } catch (e) {
        return { enforcer: name, ok: false, changed: false, applied: 'nothing: LibreOffice not found', error: errorText(e) };
      }
      const { installs, missing, unsafe } = found;
      if (!installs.length && !unsafe.length) {
        return { enforcer: name, ok: false, changed: false, applied: 'nothing: LibreOffice not found', error: notFound ?? missing.map(absent).join('; ') };
      }
      const parts = [];
      for (const i of installs) parts.push({ where: `LibreOffice ${i.version ?? '(version unknown)'} at ${i.root}`, r: await applyOne(name, i, target, ctx.platform) });
      for (const root of missing) {
        parts.push({ where: root, r: { enforcer: name, ok: false, changed: false, applied: 'nothing: no LibreOffice there', detail: { installRoot: root }, error: absent(root) } });
      }
      for (const u of unsafe) {
        parts.push({ where: u.root, r: { enforcer: name, ok: false, changed: false, applied: 'nothing: refused', detail: { installRoot: u.root, code: u.error.code }, error: u.error.message } });
      }
      return combine(name, parts);
    },

    async verify(target: EnforcementTarget): Promise<VerifyResult> {
      try {
        // Every install found, as apply() switches them: one that appeared
        // since (or replaced the one applied) shows here as a missing layer,
        // so it is enforced within a minute. Roots without an install or
        // refused as unsafe are apply()'s to report, once.
        const { installs } = await locateInstalls(config, ctx.platform);
        const drift: string[] = [];
        for (const install of installs) {
          const found = layerDrift(target.mode, observeFile(await readRegular(join(install.registryDir, LAYER_FILE))));
          // A LibreOffice replaced by a version without ViewerAppMode holds no
          // read-only even with the layer in place: apply() then says so.
          if (target.mode === 'read-only' && found.length === 0 && (await supportCached(install)) !== true) {
            found.push(`LibreOffice ${install.version ?? '(version unknown)'} cannot honour the layer`);
          }
          drift.push(...found.map((d) => `${d} in ${install.registryDir}`));
        }
        return { enforcer: name, drift };
      } catch (e) {
        return { enforcer: name, drift: [`viewer-mode layer unreadable: ${errorText(e)}`] };
      }
    },

    async check(): Promise<CheckResult> {
      try {
        const { installs, missing, unsafe } = await locateInstalls(config, ctx.platform);
        if (!installs.length && !unsafe.length) return { enforcer: name, ok: false, message: notFound ?? missing.map(absent).join('; ') };
        const results = [];
        for (const i of installs) results.push(await checkOne(name, i, ctx.platform));
        for (const root of missing) results.push({ enforcer: name, ok: false, message: absent(root) });
        for (const u of unsafe) results.push({ enforcer: name, ok: false, message: `${u.root}: ${u.error.message}` });
        return { enforcer: name, ok: results.every((r) => r.ok), message: results.map((r) => r.message).join('; ') };
      } catch (e) {
        return { enforcer: name, ok: false, message: errorText(e) };
      }
    },
  };
}

export const libreOfficeEnforcer = defineEnforcer({
  name: 'libreoffice',
  schema: LibreOfficeConfig,
  create: (cfg, ctx) => createLibreOfficeEnforcer(cfg, ctx),
  // Both registry layouts of every candidate root: the install may appear after the agent is installed.
  // Inside a sysroot, also the folders its symlinks lead to there (the host would follow them out of it).
  async writablePaths(cfg, platform) {
    const roots = cfg.installRoot === undefined ? await defaultInstallRoots(platform, cfg.sysroot)
      : typeof cfg.installRoot === 'string' ? [cfg.installRoot] : cfg.installRoot;
    const dirs = roots.flatMap((r) => [posix.join(r, 'share', 'registry'), posix.join(r, 'registry')]);
    if (cfg.sysroot === undefined) return dirs;
    const inside: string[] = [];
    for (const d of dirs) {
      const real = await walkSafe(d, { root: cfg.sysroot, missing: 'ok' }).then((w) => (w.missing.length ? undefined : w.real), () => undefined);
      if (real !== undefined && real !== d) inside.push(real);
    }
    return [...dirs, ...inside];
  },
});
