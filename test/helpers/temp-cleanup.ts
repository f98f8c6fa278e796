// Setup file of every test project: removes the temp folders a test file made
// with tempDir() once the file's own afterAll hooks have stopped its
// processes (setup-file hooks are registered first, so their afterAll runs
// last). A folder that still has a mount point inside (a chroot left
// mounted by a killed test) is kept and named: removing it would delete
// through the mount.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { takeTempDirs } from './temp-dirs.ts';

function mountPoints(): string[] {
  try {
    // Field 5 of /proc/self/mountinfo is the mount point (octal escapes for spaces do not matter for a prefix test).
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter(Boolean);
  } catch {
    return [];
  }
}

afterAll(() => {
  const dirs = takeTempDirs();
  if (process.env.DEVLIC_KEEP_TEMP === '1' || dirs.length === 0) return;
  const mounts = mountPoints();
  for (const dir of dirs) {
    if (mounts.some((m) => m === dir || m.startsWith(`${dir}/`))) {
      console.warn(`temp folder kept: ${dir} has a mount point inside`);
      continue;
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
});
