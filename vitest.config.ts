// Test runner configuration, three projects:
//   unit            test/**/*.unit.test.ts: pure logic, in-process SQLite files and
//                   loopback servers; no child process (enforced by
//                   test/helpers/no-processes.ts). `npm run test:unit`.
//   integration     every other test/**/*.test.ts: real service, agent and browser
//                   processes, the service on SQLite.
//   integration-pg  the service's integration tests (test/service) again, the
//                   service on PostgreSQL: one throwaway cluster for the run
//                   (test/helpers/pg-global-setup.ts), a database per service.
//                   Left out, loudly, where PostgreSQL is not installed, unless
//                   DEVLIC_REQUIRE_REAL_APPS=1 (CI), where its absence fails.
// All get generous timeouts (tests must hold on a busy machine) and run in
// forked workers; `npm test` (what CI runs) runs all three. Temp folders made
// with tempDir() are removed when their file ends (test/helpers/temp-cleanup.ts).
import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const UNIT = 'test/**/*.unit.test.ts';

const withPostgres = existsSync('/usr/lib/postgresql') || process.env.DEVLIC_REQUIRE_REAL_APPS === '1';
if (!withPostgres) {
  console.warn('\n!!!!!!!! SKIPPING the integration-pg project (service tests on PostgreSQL): no /usr/lib/postgresql (apt-get install postgresql).\n');
}

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: [UNIT], setupFiles: ['test/helpers/no-processes.ts', 'test/helpers/temp-cleanup.ts'] },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: [UNIT], setupFiles: ['test/helpers/temp-cleanup.ts'] },
      },
      ...(withPostgres ? [{
        extends: true,
        test: {
          name: 'integration-pg',
          include: ['test/service/**/*.test.ts'],
          exclude: [UNIT],
          env: { DEVLIC_TEST_BACKEND: 'postgres' },
          globalSetup: ['test/helpers/pg-global-setup.ts'],
          setupFiles: ['test/helpers/temp-cleanup.ts'],
        },
      }] : []),
    ],
  },
});
