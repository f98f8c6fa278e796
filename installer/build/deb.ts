// Debian packages of the two executables, built with dpkg-deb from a staged
// tree (no debhelper: the build runs on any Debian with dpkg). The maintainer
// scripts talk to systemd only when it is the running init
// (`[ -d /run/systemd/system ]`, the test debhelper's own snippets use) and
// otherwise do nothing harmful: in a container or chroot the files are
// installed and nothing is started.
//
// devlic-agent: /opt/devlic + /usr/bin link + the unit, enabled but skipped
// until `devlic-agent install` writes /etc/devlic/agent.json and enrolls.
// devlic-server: /opt/devlic-server + /usr/bin link + the unit + a conffile
// /etc/devlic-server/server.json; runs as the system user devlic-server with
// its data in /var/lib/devlic-server; started on install like any Debian service.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ADDON, agentLayout, SERVER_LAYOUT } from '../layout.ts';
import { agentUnit, serverUnit } from '../platforms/systemd.ts';

const run = promisify(execFile);
const HEADER = '#!/bin/sh\n# Written by installer/build/deb.ts.\nset -e\n';
const SYSTEMD = '[ -d /run/systemd/system ]';

export function agentPostinst(): string {
  const L = agentLayout('linux', { packaged: true });
  return `${HEADER}
if [ "$1" = configure ] && ${SYSTEMD}; then
  systemctl daemon-reload || true
  # Enabled now, started once configured: the unit is skipped until ${L.configFile} exists.
  systemctl enable ${L.serviceName}.service || true
  # An upgrade of a configured device: run the new program.
  if [ -e ${L.configFile} ]; then
    systemctl restart ${L.serviceName}.service || true
  fi
fi
exit 0
`;
}

export function agentPrerm(): string {
  return `${HEADER}
# On upgrade the agent keeps running; postinst restarts it on the new program.
if [ "$1" = remove ] && ${SYSTEMD}; then
  systemctl disable --now devlic-agent.service || true
fi
exit 0
`;
}

export function agentPostrm(): string {
  const L = agentLayout('linux', { packaged: true });
  return `${HEADER}
if [ "$1" = remove ] || [ "$1" = purge ]; then
  if ${SYSTEMD}; then systemctl daemon-reload || true; fi
fi
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
  return `${HEADER}
if [ "$1" = configure ]; then
  if ! getent passwd ${s.user} >/dev/null; then
    useradd --system --user-group --home-dir ${s.dataDir} --no-create-home --shell /usr/sbin/nologin --comment "devlic licensing service" ${s.user}
  fi
  if ${SYSTEMD}; then
    systemctl daemon-reload || true
    systemctl enable ${s.serviceName}.service || true
    systemctl restart ${s.serviceName}.service || true
  fi
fi
exit 0
`;
}

export function serverPrerm(): string {
  return `${HEADER}
if [ "$1" = remove ] && ${SYSTEMD}; then
  systemctl disable --now devlic-server.service || true
fi
exit 0
`;
}

export function serverPostrm(): string {
  return `${HEADER}
if [ "$1" = remove ] || [ "$1" = purge ]; then
  if ${SYSTEMD}; then systemctl daemon-reload || true; fi
fi
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
}

function control(spec: DebSpec, installedKb: number): string {
  const desc = spec.name === 'devlic-agent'
    ? 'devlic device agent (device-based licensing)\n Keeps the office apps of a shared laptop or tablet in full or read-only\n mode, as the devlic licensing service entitles the device. Configure and\n enroll with: devlic-agent install --server URL --token T'
    : 'devlic licensing service (device-based licensing)\n Administrators assign subscriptions to groups of devices; devlic agents\n fetch their signed entitlement from it. Settings: /etc/devlic-server/server.json';
  return [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    `Architecture: ${spec.arch}`,
    'Maintainer: devlic maintainers <devlic@localhost>',
    `Installed-Size: ${installedKb}`,
    // The executable is Node itself: glibc 2.28 and libstdc++ (GLIBCXX_3.4.21) are all it needs.
    `Depends: libc6 (>= 2.28), libstdc++6 (>= 5.2), libgcc-s1 | libgcc1${spec.name === 'devlic-server' ? ', passwd' : ''}`,
    'Section: admin',
    'Priority: optional',
    `Description: ${desc}`,
    '',
  ].join('\n');
}

export async function buildDeb(spec: DebSpec): Promise<string> {
  const root = join(spec.workDir, `deb-${spec.name}`);
  await rm(root, { recursive: true, force: true });
  const put = async (path: string, mode: number, content?: string, src?: string) => {
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
  await mkdir(join(root, dirname(binLink)), { recursive: true, mode: 0o755 });
  await symlink(join(programDir, spec.name), join(root, binLink));
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
  const bytes = (await stat(join(spec.dist, spec.name))).size + (await stat(join(spec.dist, ADDON))).size;
  await put('DEBIAN/control', 0o644, control(spec, Math.ceil(bytes / 1024) + 8));
  // mkdir's mode is filtered by the umask; dpkg-deb wants 0755 folders.
  await run('chmod', ['-R', 'u=rwX,go=rX', root]);
  for (const f of ['postinst', 'prerm', 'postrm']) await chmod(join(root, 'DEBIAN', f), 0o755);
  // gzip: xz would save a quarter of the size but take a minute per package; every dpkg reads gzip.
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, spec.out], { maxBuffer: 4 * 1024 * 1024 });
  await rm(root, { recursive: true, force: true });
  return spec.out;
}
