// Test runner configuration, two projects:
//   unit         test/**/*.unit.test.ts: pure logic, in-process SQLite files and
//                loopback servers; no child process (enforced by
//                test/helpers/no-processes.ts). `npm run test:unit`.
//   integration  every other test/**/*.test.ts: real service, agent and browser
//                processes.
// Both get generous timeouts (tests must hold on a busy machine) and run in
// forked workers; `npm test` (what CI runs) runs both.
import { defineConfig } from 'vitest/config';

const UNIT = 'test/**/*.unit.test.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: [UNIT], setupFiles: ['test/helpers/no-processes.ts'] },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: [UNIT] },
      },
    ],
  },
});
