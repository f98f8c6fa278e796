// A throwaway PostgreSQL cluster for one test file: initdb (as the `postgres`
// user, since initdb and postgres refuse root) into a temp dir, a free
// loopback port and a unix socket in that dir, trust authentication on
// loopback only; each test gets a fresh database from createDatabase().
// stop() shuts the server down and removes the dir.
//
// Without the PostgreSQL binaries the tests skip loudly; with
// DEVLIC_REQUIRE_REAL_APPS=1 (CI) a missing PostgreSQL is a failure instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabaseAt } from './pg-database.ts';
import { freePort } from './processes.ts';
import { afterAll, beforeAll, describe, it } from 'vitest';

export const PG_REQUIRED = process.env.DEVLIC_REQUIRE_REAL_APPS === '1';

/** The newest /usr/lib/postgresql/N/bin holding initdb and postgres, or undefined. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Why the real-PostgreSQL tests cannot run here, or undefined when they can. */
export const PG_MISSING: string | undefined = (() => {
  if (!findPostgresBin()) return 'no PostgreSQL binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)';
  if (process.getuid?.() === 0 && !postgresUser()) return 'running as root and there is no `postgres` user to run initdb as';
  return undefined;
})();

if (PG_MISSING && !PG_REQUIRED) {
  console.warn(`\n!!!!!!!! SKIPPING the real-PostgreSQL tests: ${PG_MISSING}.\n!!!!!!!! Set DEVLIC_REQUIRE_REAL_APPS=1 to make this a failure.\n`);
}

export interface PgCluster {
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** The temp dir: data in ./data, the unix socket in ./ (PGHOST for psql). */
  readonly dir: string;
  /** URL of the `postgres` maintenance database, superuser `postgres`. */
  readonly adminUrl: string;
  /** Creates an empty database (owner postgres, UTF8, C locale) and returns its URL. */
  createDatabase(): Promise<string>;
  /** Fast shutdown, then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A test worker that dies without stop() must not leave a postgres behind.
process.once('exit', () => {
  for (const p of running) p.kill('SIGQUIT');
});

/** Starts a cluster; throws (with its log) when it cannot. */
/** settings: extra `-c name=value` server settings (later ones win), e.g. a benchmark's larger shared_buffers. */
export async function startPostgres(settings: Record<string, string> = {}): Promise<PgCluster> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(PG_MISSING ?? 'no PostgreSQL binaries');
  const dir = mkdtempSync(join(tmpdir(), 'devlic-pg-'));
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--auth=trust', '--no-sync'],
    { ...as, encoding: 'utf8', cwd: dir });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr}`);
  }

  let log = '';
  let proc: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !proc; attempt++) {
    port = await freePort();
    const p = spawn(join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-k', dir,
      '-c', 'listen_addresses=127.0.0.1',
      // A throwaway cluster: durability is not what these tests check, speed on a busy machine is.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=16MB', '-c', 'max_connections=200',
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ], { ...as, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    log = '';
    const ready = await new Promise<boolean>((resolve) => {
      const onData = (b: Buffer) => {
        log += b.toString();
        if (log.includes('database system is ready to accept connections')) resolve(true);
      };
      p.stdout!.on('data', onData);
      p.stderr!.on('data', onData);
      p.once('exit', () => resolve(false));
    });
    if (ready) {
      proc = p;
      running.add(p);
    } else if (!/could not bind|Address already in use/.test(log)) {
      break;
    }
  }
  if (!proc) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`postgres did not start:\n${log}`);
  }
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let n = 0;
  let stopped = false;
  return {
    port,
    dir,
    adminUrl,
    createDatabase: () => createDatabaseAt(adminUrl, `t${process.pid}_${++n}`),
    async stop() {
      if (stopped) return;
      stopped = true;
      proc.kill('SIGINT'); // fast shutdown: disconnects clients, no waiting for them
      await exited;
      running.delete(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * describe() over a real cluster started once for the block (beforeAll) and
 * stopped after it. Skips loudly without PostgreSQL; under
 * DEVLIC_REQUIRE_REAL_APPS=1 a failing test stands for the skipped ones.
 */
export function describePostgres(name: string, body: (cluster: () => PgCluster) => void): void {
  describe(name, () => {
    if (PG_MISSING) {
      if (PG_REQUIRED) it('has PostgreSQL (DEVLIC_REQUIRE_REAL_APPS=1)', () => { throw new Error(`real PostgreSQL required but ${PG_MISSING}`); });
      else it.skip(`needs PostgreSQL: ${PG_MISSING}`, () => {});
      return;
    }
    let c: PgCluster | undefined;
    beforeAll(async () => { c = await startPostgres(); });
    afterAll(async () => { await c?.stop(); });
    body(() => {
      if (!c) throw new Error('the PostgreSQL cluster did not start (see beforeAll)');
      return c;
    });
  });
}
