// Setup file of the `unit` test project: a *.unit.test.ts file must not start
// a process (no agent, service, browser or system program), so that
// `npm run test:unit` stays fast and a file that starts one fails loudly here
// instead of quietly slowing the quick loop. Move such a test to a plain
// *.test.ts file (the `integration` project).
import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork'] as const) {
  (cp as Record<string, unknown>)[name] = (file: unknown) => {
    throw new Error(`a unit test started a process (child_process.${name} ${String(file)}): ` +
      'name the file *.test.ts, not *.unit.test.ts');
  };
}
// Rebinds the named ESM exports (`import { spawn } from 'node:child_process'`)
// to the guarded functions for every module imported after this file.
syncBuiltinESMExports();
