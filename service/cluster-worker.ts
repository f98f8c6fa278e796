// One worker process of `devlic-server serve --workers N` (issue 12): a full
// replica, started exactly as a lone `serve` starts (its own PostgreSQL pool,
// LISTEN connection and signing threads), on the port the cluster primary
// shares among its workers. It takes its settings from the primary (never
// from its own argv, which a single executable lays out differently), tells
// the primary when it listens or why it could not start, answers /metrics
// with the whole host's figures gathered by the primary, and stops the usual
// way on SIGTERM. SIGINT (a terminal's Ctrl-C reaches every process of the
// group) is left to the primary, which stops the workers itself.
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { DevlicError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import type { ServerConfig } from './config.ts';
import { startServer } from './server.ts';
import { WORKER_CONFIG_ENV, type PrimaryMessage, type WorkerMessage } from './workers.ts';

/** How long a worker waits for the primary's aggregated metrics (prom-client's own limit is 5 s). */
const METRICS_TIMEOUT_MS = 6_000;

function send(m: WorkerMessage): Promise<void> {
  return new Promise((done) => {
    if (!process.connected) { done(); return; }
    process.send!(m, undefined, {}, () => done());
  });
}

/** /metrics of a worker: asks the primary, which asks every worker (this one too) and sums. */
function hostMetrics(own: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([own]);
  // Its constructor makes this process answer the primary's requests for its registry.
  new AggregatorRegistry();
  let next = 1;
  const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (m: PrimaryMessage) => {
    if (m?.type !== 'devlic:metrics-res') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.text !== undefined) p.resolve(m.text);
    else p.reject(new DevlicError('INTERNAL', `the host's metrics could not be gathered: ${m.error ?? 'no answer'}`));
  });
  return () => new Promise((resolve, reject) => {
    const id = next++;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new DevlicError('INTERNAL', 'the host\'s metrics could not be gathered: the primary did not answer'));
    }, METRICS_TIMEOUT_MS);
    timer.unref();
    pending.set(id, { resolve: (t) => { clearTimeout(timer); resolve(t); }, reject: (e) => { clearTimeout(timer); reject(e); } });
    void send({ type: 'devlic:metrics-req', id });
  });
}

export async function workerMain(): Promise<number> {
  const raw = process.env[WORKER_CONFIG_ENV];
  // Settings may hold the database password: not left where a child or a crash report would find them.
  delete process.env[WORKER_CONFIG_ENV];
  const cfg = JSON.parse(raw!) as ServerConfig;
  const id = cluster.worker!.id;
  const log = createLogger('devlic-server').child({ worker: id, pid: process.pid });
  process.on('SIGINT', () => {});
  let server;
  try {
    server = await startServer(cfg, log, Date.now, {
      listeningMessage: 'worker listening',
      healthFields: { worker: id },
      metrics: hostMetrics,
    });
  } catch (e) {
    // The primary says it once for all workers (and fails the start, or restarts this one later).
    const code = e instanceof DevlicError ? e.code : 'INTERNAL';
    await send({ type: 'devlic:start-failed', code, message: e instanceof Error ? e.message : String(e) });
    if (!(e instanceof DevlicError)) log.error({ err: e }, 'worker could not start');
    // At once: a half-started replica has nothing to finish, and nothing of it may keep the process up.
    process.exit(1);
  }
  await send({ type: 'devlic:listening', url: server.url });
  await new Promise<void>((done) => {
    process.once('SIGTERM', () => {
      log.info({ signal: 'SIGTERM' }, 'stopping');
      server.stop().then(done, (e) => { log.error({ err: e }, 'stop failed'); done(); });
    });
  });
  // The IPC channel would keep the process alive; cluster's disconnect closes it as an asked-for exit
  // (process.disconnect() alone would make Node's cluster code exit at once, as when the primary dies).
  if (process.connected) cluster.worker!.disconnect();
  return 0;
}
