// Temp folders for tests (data dirs, configs, clusters): each one made here is
// removed when its test file ends (test/helpers/temp-cleanup.ts, a setup file
// of every test project), so a run leaves nothing in /tmp.
// DEVLIC_KEEP_TEMP=1 keeps them for a post-mortem.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `devlic-${prefix}-`));
  made.add(dir);
  return dir;
}

/** The folders made so far in this test file, forgotten as they are handed out. */
export function takeTempDirs(): string[] {
  const all = [...made];
  made.clear();
  return all;
}
