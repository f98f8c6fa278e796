// Which database a benchmark runs the service on: DEVLIC_BENCH_DATABASE =
// sqlite | postgres | both (a comma list works too). PostgreSQL is a
// throwaway cluster started once for the run (test/helpers/postgres.ts), with
// durable settings (fsync and synchronous commit on, as SQLite's WAL
// commits are) and shared_buffers large enough for a 100,000-device fleet;
// every data folder gets its own database in it.
import { openSqlDatabase } from '../service/store/open.ts';
import type { SqlDatabase } from '../service/store/sql.ts';
import { startPostgres, type PgCluster } from '../test/helpers/postgres.ts';

export type BenchBackend = 'sqlite' | 'postgres';

export function benchBackends(fallback = 'both'): BenchBackend[] {
  const raw = (process.env.DEVLIC_BENCH_DATABASE ?? fallback).split(',').map((s) => s.trim());
  const out = raw.flatMap((s) => (s === 'both' ? ['sqlite', 'postgres'] : [s]));
  for (const b of out) if (b !== 'sqlite' && b !== 'postgres') throw new Error(`DEVLIC_BENCH_DATABASE: unknown backend ${b} (sqlite, postgres or both)`);
  return [...new Set(out)] as BenchBackend[];
}

let cluster: Promise<PgCluster> | undefined;

/**
 * The bench cluster's server settings: durable ones, plus any given as
 * DEVLIC_BENCH_PG_SETTINGS=name=value,name=value (later ones win), e.g.
 * wal_compression=lz4 to measure a production setting. Printed at the start
 * of a run, so every figure says what it ran with.
 */
export function benchPgSettings(): Record<string, string> {
  const extra = Object.fromEntries((process.env.DEVLIC_BENCH_PG_SETTINGS ?? '').split(',').filter((s) => s.trim())
    .map((s) => { const i = s.indexOf('='); return [s.slice(0, i).trim(), s.slice(i + 1).trim()]; }));
  return { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on', shared_buffers: '256MB', work_mem: '16MB', max_connections: '300', ...extra };
}

export function benchCluster(): Promise<PgCluster> {
  if (!cluster) {
    const settings = benchPgSettings();
    console.log(`PostgreSQL bench cluster settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    cluster = startPostgres(settings);
  }
  return cluster;
}

/** A fresh database for one service data folder: null (SQLite file in dataDir) or a PostgreSQL URL. */
export async function benchDatabase(backend: BenchBackend): Promise<string | null> {
  return backend === 'postgres' ? (await benchCluster()).createDatabase() : null;
}

/** Opens the folder's database beside the service (seeding, before it starts), as the service picks it. */
export function openBenchDatabase(dataDir: string, url: string | null): Promise<SqlDatabase> {
  return openSqlDatabase({ dataDir, database: url, databasePoolSize: 2 });
}

export async function stopBenchCluster(): Promise<void> {
  if (cluster) await (await cluster).stop();
}
