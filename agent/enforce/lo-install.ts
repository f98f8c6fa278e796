// Where the LibreOffice installs of a machine (or of a chroot/image, the
// `sysroot`) are, and which version each is: what the enforcer switches.
// Reading only; every path inside a sysroot is resolved there (walkSafe's
// root), never on the host.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { readIfExists } from '../host/fsutil.ts';
import { UnsafePathError, walkSafe } from '../host/safe-path.ts';
import { versionFromMainXcd } from './lo-layer.ts';

export interface LibreOfficeInstall {
  root: string;
  /**
   * Where the .xcd layers live: <root>/share/registry, or <root>/registry in
   * a macOS bundle; inside a sysroot, that folder with its symlinks resolved there.
   */
  registryDir: string;
  version?: string;
  /** The chroot or image the install lives in, when not the host's own. */
  sysroot?: string;
}

/** Where LibreOffice is usually installed, most specific first (inside `sysroot` when given). */
export async function defaultInstallRoots(platform: NodeJS.Platform, sysroot?: string): Promise<string[]> {
  if (platform === 'darwin') return ['/Applications/LibreOffice.app/Contents/Resources'];
  if (platform === 'win32') return ['C:\\Program Files\\LibreOffice', 'C:\\Program Files (x86)\\LibreOffice'];
  // Debian/Ubuntu packages, then The Document Foundation's own packages
  // (/opt/libreoffice<version>), newest first.
  const base = sysroot ?? '/';
  let opt: string[] = [];
  try {
    opt = (await fsp.readdir(join(base, 'opt'))).filter((n) => /^libreoffice\d/.test(n))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true })).map((n) => join(base, 'opt', n));
  } catch {
    // no /opt
  }
  return [join(base, 'usr/lib/libreoffice'), ...opt];
}

/**
 * Reads a file of an install, or undefined when it is not there. Inside a
 * sysroot the path is resolved there (walkSafe's root), so an absolute
 * symlink such as Debian's main.xcd -> /usr/lib/libreoffice/share/.registry
 * reads the sysroot's file, not the host's.
 */
export async function readInstallFile(path: string, sysroot: string | undefined): Promise<string | undefined> {
  if (sysroot === undefined) return readIfExists(path);
  let r;
  try {
    r = await walkSafe(path, { root: sysroot, missing: 'ok' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
  return r.missing.length ? undefined : readIfExists(r.real);
}

/** Every root that holds a LibreOffice registry (main.xcd), in order; one folder reached twice counts once. */
export async function findInstalls(roots: readonly string[], sysroot?: string): Promise<LibreOfficeInstall[]> {
  return (await scanInstalls(roots, sysroot)).installs;
}

export interface Scan {
  installs: LibreOfficeInstall[];
  /** Roots that hold no registry at all. */
  absent: string[];
  /** Roots inside a sysroot whose way to main.xcd a non-root user could change: refused, the others still switched. */
  unsafe: { root: string; error: UnsafePathError }[];
}

export async function scanInstalls(roots: readonly string[], sysroot: string | undefined): Promise<Scan> {
  const found: LibreOfficeInstall[] = [];
  const absent: string[] = [];
  const unsafe: Scan['unsafe'] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    let hit = false;
    for (const dir of [join(root, 'share', 'registry'), join(root, 'registry')]) {
      let main: string | undefined;
      try {
        main = await readInstallFile(join(dir, 'main.xcd'), sysroot);
      } catch (e) {
        if (e instanceof UnsafePathError) {
          unsafe.push({ root, error: e.for(`to read ${join(dir, 'main.xcd')}`) });
          hit = true;
          break;
        }
        continue;
      }
      if (main === undefined) continue;
      hit = true;
      const registryDir = sysroot === undefined ? dir : (await walkSafe(dir, { root: sysroot })).real;
      const real = await fsp.realpath(registryDir);
      if (seen.has(real)) break;
      seen.add(real);
      const version = versionFromMainXcd(main) ?? (await versionFromRc(root, sysroot));
      found.push({ root, registryDir, version, ...(sysroot === undefined ? {} : { sysroot }) });
      break;
    }
    if (!hit) absent.push(root);
  }
  return { installs: found, absent, unsafe };
}

/** The first root that holds a LibreOffice registry (main.xcd), or undefined. */
export async function findInstall(roots: readonly string[], sysroot?: string): Promise<LibreOfficeInstall | undefined> {
  return (await findInstalls(roots, sysroot))[0];
}

// Fallback when main.xcd carries no version: "ProductKey=LibreOffice 7.4".
async function versionFromRc(root: string, sysroot: string | undefined): Promise<string | undefined> {
  for (const f of ['program/bootstraprc', 'program/bootstrap.ini', 'bootstraprc']) {
    const text = await readInstallFile(join(root, f), sysroot).catch(() => undefined);
    const m = text && text.match(/^ProductKey=\S+ ([0-9][0-9.]*)/m);
    if (m) return m[1];
  }
  return undefined;
}
