// Release archives and their checksums. Each archive holds one folder,
// `<program>-<version>-<target>/`, with the executable, better_sqlite3.node
// beside it (where the executable loads it from) and INSTALL.md, so an
// administrator unpacks it and runs `sudo ./devlic-agent install ...`.
// Files are stored as root-owned and not group/world-writable whoever builds.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ArchiveSpec {
  /** e.g. devlic-agent-0.1.0-linux-x64 */
  name: string;
  /** Files to put in the archive folder: [source path, name in the folder, mode]. */
  files: Array<[string, string, number]>;
  workDir: string;
  outDir: string;
}

export async function makeArchive(spec: ArchiveSpec): Promise<string> {
  const stage = join(spec.workDir, 'archive', spec.name);
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  await chmod(stage, 0o755);
  for (const [src, name, mode] of spec.files) {
    await copyFile(src, join(stage, name));
    await chmod(join(stage, name), mode);
  }
  const out = join(spec.outDir, `${spec.name}.tar.gz`);
  // GNU tar (Debian's): deterministic order and owner, no builder's uid in the archive.
  await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mode=go-w',
    '-czf', out, '-C', join(spec.workDir, 'archive'), spec.name]);
  await rm(stage, { recursive: true, force: true });
  return out;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('error', fail).on('end', () => done(h.digest('hex')));
  });
}

/** SHA256SUMS in the format `sha256sum -c` reads: "<hex>  <name>". */
export async function writeChecksums(files: string[], out: string): Promise<string> {
  const lines: string[] = [];
  for (const f of [...files].sort((a, b) => basename(a).localeCompare(basename(b)))) {
    lines.push(`${await sha256File(f)}  ${basename(f)}`);
  }
  await writeFile(out, lines.join('\n') + '\n');
  return out;
}
