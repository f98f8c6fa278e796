// The `workers` setting's pure rules (service/workers.ts): what --workers and
// DEVLIC_WORKERS accept, the config file's bounds, PostgreSQL required for
// more than one, the signing threads each worker gets, and the restart delay
// of a worker that died (the project's backoff, started over after a stable run).
import { expect, it } from 'vitest';
import { UsageError } from '../../shared/cli.ts';
import { loadServerConfig, SERVER_DEFAULTS } from '../../service/config.ts';
import { checkWorkers, connectionBudgetProblem, defaultSigningThreads, parseWorkers, RestartDelay, STABLE_RUN_MS } from '../../service/workers.ts';
import { signingThreads } from '../../service/signing/pool.ts';

const PG = 'postgres://devlic@127.0.0.1/devlic';

it('defaults to one worker: a lone process, as before', () => {
  expect(SERVER_DEFAULTS.workers).toBe(1);
  expect(loadServerConfig(undefined, {}).workers).toBe(1);
});

it('reads whole numbers from 1 to 64 from the flag and the environment', () => {
  expect(parseWorkers('1', '--workers')).toBe(1);
  expect(parseWorkers(' 3 ', 'DEVLIC_WORKERS')).toBe(3);
  expect(parseWorkers('64', '--workers')).toBe(64);
  for (const bad of ['0', '-1', 'x', '65', '1e1', '2.0', '', '0x2', '99999999999999999999']) {
    expect(() => parseWorkers(bad, '--workers'), bad).toThrow(UsageError);
    expect(() => parseWorkers(bad, '--workers'), bad).toThrow(/^--workers must be a whole number of processes from 1 to 64/);
    expect(() => parseWorkers(bad, 'DEVLIC_WORKERS'), bad).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  }
});

it('the config file holds the same bounds, and more than one worker needs PostgreSQL', () => {
  expect(loadServerConfig(undefined, { workers: 4, database: PG }).workers).toBe(4);
  for (const bad of [0, 65, 1.5]) expect(() => loadServerConfig(undefined, { workers: bad, database: PG }), String(bad)).toThrow(/workers/);
  expect(() => loadServerConfig(undefined, { workers: 2 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^workers: 2 worker processes need PostgreSQL/) }));
  expect(() => checkWorkers(1, null)).not.toThrow();
  expect(() => checkWorkers(2, PG)).not.toThrow();
});

it('shares the cores the event loops leave among the workers\' signing threads, at least one each', () => {
  expect(defaultSigningThreads(4, 1)).toBe(3); // one worker: cores - 1, as before
  expect(defaultSigningThreads(1, 1)).toBe(1);
  expect(defaultSigningThreads(2, 2)).toBe(1);
  expect(defaultSigningThreads(8, 2)).toBe(3);
  expect(defaultSigningThreads(8, 3)).toBe(2);
  expect(defaultSigningThreads(16, 16)).toBe(1);
  expect(signingThreads({ DEVLIC_SIGNING_THREADS: '5' }, 4)).toBe(5); // the variable still wins
});

it('restarts a dying worker after a growing, jittered delay, and starts over after a stable run', () => {
  const r = new RestartDelay(() => 0.999);
  const quick = [0, 0, 0, 0, 0, 0, 0, 0].map(() => r.after(0));
  expect(quick).toEqual([999, 1998, 3996, 7992, 15984, 31968, 59940, 59940]); // 1 s doubling, capped at 60 s
  expect(r.failures).toBe(8);
  expect(r.after(STABLE_RUN_MS - 1)).toBe(59940); // not stable yet
  expect(r.after(STABLE_RUN_MS)).toBe(999);
  expect(r.failures).toBe(1);
  // Jitter: anywhere from 0 up to the cap.
  expect(new RestartDelay(() => 0).after(0)).toBe(0);
});

it('says when a host\'s workers cannot all get their database connections', () => {
  expect(connectionBudgetProblem(2, 10, 100, 3)).toBeNull(); // 24 of 97
  expect(connectionBudgetProblem(8, 10, 99, 3)).toBeNull(); // 96 of 96: fits exactly
  expect(connectionBudgetProblem(8, 10, 98, 3)).toBe(
    "this host's 8 workers may open 96 database connections (8 × (databasePoolSize 10 + 2)), more than the 95 PostgreSQL allows (max_connections 98 − superuser_reserved_connections 3); raise max_connections or lower workers or databasePoolSize");
});
