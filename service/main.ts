// devlic-server: the licensing service's command line.
import { resolve } from 'node:path';
import { accessSync, constants } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parse, runCli, UsageError } from '../shared/cli.ts';
import { DevlicError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { listenProblem, loadServerConfig, parseListen, type ServerConfig } from './config.ts';
import { startServer } from './server.ts';
import { keysMain } from './keys-cli.ts';
import { migrateMain } from './migrate-cli.ts';
import cluster from 'node:cluster';
import { runPrimary } from './cluster-primary.ts';
import { workerMain } from './cluster-worker.ts';
import { parseWorkers, WORKER_CONFIG_ENV } from './workers.ts';

const USAGE = `Usage: devlic-server serve [--data-dir DIR] [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--retire-stale-after DURATION] [--database URL] [--workers N] [--config FILE]
       devlic-server keys list|rotate|retire KID [--data-dir DIR] [--database URL] [--json]   (see: devlic-server keys --help)
       devlic-server migrate-to-postgres --from DIR --database URL   (see: devlic-server migrate-to-postgres --help)

The devlic licensing service: admins assign subscriptions to device groups,
device agents poll it for their signed entitlement.

  --data-dir DIR      database, signing key (on PostgreSQL: the site key) and bootstrap admin token
                      (default /var/lib/devlic-server)
  --listen HOST:PORT  address to listen on (default 127.0.0.1:8470)
  --tls-cert FILE     PEM certificate; with --tls-key serves HTTPS
  --tls-key FILE      PEM private key
  --retire-stale-after DURATION
                      retire devices not seen for this long, e.g. 60d (default: off; at least 1h)
  --database URL      PostgreSQL shared by replicas, postgres://USER:PASSWORD@HOST:PORT/DB
                      (default: $DEVLIC_DATABASE, else SQLite in the data dir; docs/postgresql.md)
  --workers N         replica processes on this host sharing the listening port, 1 to 64;
                      more than 1 needs --database (default: $DEVLIC_WORKERS, else 1: one process;
                      docs/postgresql.md "Several workers on one host")
  --config FILE       JSON file with further settings (see README: offline validity, warning, limits)
  --version           print the version
`;

const VERSION = '0.1.0';

/**
 * What can be checked before the service touches the disk: the TLS files are
 * readable and the listen host resolves. Bad input must change nothing, and
 * startServer creates the data folder, database and admin token first.
 */
async function preflight(cfg: ServerConfig): Promise<void> {
  for (const [flag, file] of [['tls-cert', cfg.tlsCert], ['tls-key', cfg.tlsKey]] as const) {
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (e) {
      throw new DevlicError('CONFIG_INVALID', `cannot read the ${flag} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const { host } = parseListen(cfg.listen);
  if (isIP(host) === 0) {
    try {
      await lookup(host);
    } catch {
      throw new DevlicError('CONFIG_INVALID', `listen: cannot resolve the host '${host}' in '${cfg.listen}'`);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'keys') return keysMain(argv.slice(1));
  if (argv[0] === 'migrate-to-postgres') return migrateMain(argv.slice(1));
  const { values, positionals } = parse(argv, {
    'data-dir': { type: 'string' }, listen: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
    config: { type: 'string' }, version: { type: 'boolean' }, 'retire-stale-after': { type: 'string' },
    database: { type: 'string' }, workers: { type: 'string' },
  });
  if (values.version) { process.stdout.write(`devlic-server ${VERSION}\n`); return 0; }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  if (positionals[0] !== 'serve' || positionals.length > 1) {
    throw new UsageError(positionals.length ? `unknown command '${positionals.join(' ')}' (the commands are 'serve', 'keys' and 'migrate-to-postgres')` : 'missing command: serve, keys or migrate-to-postgres');
  }
  if (!!values['tls-cert'] !== !!values['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
  const badListen = values.listen === undefined ? null : listenProblem(values.listen);
  if (badListen) throw new UsageError(`--listen ${badListen}`);
  const cfg = loadServerConfig(values.config, {
    dataDir: values['data-dir'] ? resolve(values['data-dir']) : undefined,
    listen: values.listen,
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    retireStaleAfter: values['retire-stale-after'],
    // flag, then environment, then the config file; an empty variable counts as unset
    database: values.database ?? (process.env.DEVLIC_DATABASE || undefined),
    // The same order: flag, environment, file.
    workers: values.workers !== undefined ? parseWorkers(values.workers, '--workers')
      : process.env.DEVLIC_WORKERS ? parseWorkers(process.env.DEVLIC_WORKERS, 'DEVLIC_WORKERS') : undefined,
  });
  await preflight(cfg);
  const log = createLogger('devlic-server');
  if (cfg.workers > 1) {
    const primary = await runPrimary(cfg, log);
    if (primary.url && process.stdout.isTTY) process.stdout.write(`devlic-server ${VERSION} listening on ${primary.url} with ${cfg.workers} workers (data in ${cfg.dataDir})\n`);
    await primary.stopped;
    return 0;
  }
  const server = await startServer(cfg, log);
  // For a person at a terminal; elsewhere (journal, pipes) stdout holds JSON log lines only,
  // and the 'devlic-server listening' line says the same.
  if (process.stdout.isTTY) process.stdout.write(`devlic-server ${VERSION} listening on ${server.url} (data in ${cfg.dataDir})\n`);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      server.stop().then(done, (e) => { log.error({ err: e }, 'stop failed'); done(); });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

// A worker of `serve --workers N` (cluster-worker.ts) takes its settings from its primary, not from argv.
await runCli('devlic-server', () => (cluster.isWorker && process.env[WORKER_CONFIG_ENV] ? workerMain() : main(process.argv.slice(2))));
