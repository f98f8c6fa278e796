// The cluster primary of `devlic-server serve --workers N` (N > 1, PostgreSQL
// only; issue 12): N replica processes on one host sharing one listening port
// through Node's node:cluster, so that a wake's per-device work is spread
// over N event loops. The primary does the one-off start-up work (migrations,
// keys, bootstrap admin: prepareOnce) and then holds no database connection
// and serves no request: it forks the workers, says 'devlic-server listening'
// once all of them listen, restarts one that dies (with the project's
// backoff, so a crash loop does not spin), gathers /metrics for the host, and
// on SIGTERM or SIGINT stops every worker the usual way and exits 0.
// Connections are handed to workers round-robin by the primary (Node's
// default on Linux): each long-lived agent connection lands on the next
// worker, so held long-polls spread evenly.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { DevlicError, type ErrorCode } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { ServerConfig } from './config.ts';
import { prepareOnce } from './server.ts';
import { isWorkerMessage, RestartDelay, WORKER_CONFIG_ENV, type PrimaryMessage, type WorkerMessage } from './workers.ts';

interface Slot {
  worker: Worker | null;
  /** When the current worker said it listens (0: not yet). */
  listeningAt: number;
  url: string | null;
  restart: RestartDelay;
  timer: NodeJS.Timeout | null;
  /** Why the current worker could not start, if it said. */
  failure: { code: string; message: string } | null;
}

/** url: null when a stop signal came before every worker listened. */
export interface PrimaryResult { url: string | null; stopped: Promise<void> }

/**
 * Runs the primary: resolves once every worker listens (with the URL and a
 * promise that settles when a stop signal has stopped them all), or rejects
 * with the first worker's reason when the workers cannot start.
 */
export async function runPrimary(cfg: ServerConfig, log: Logger): Promise<PrimaryResult> {
  const n = cfg.workers;
  if (n > availableParallelism()) {
    log.warn({ workers: n, cores: availableParallelism() }, 'more workers than cores: they share the cores and add only memory and database connections');
  }
  const { database } = await prepareOnce(cfg, log);

  // The worker runs this same program; its argv is ignored (it reads its settings from the primary),
  // because a single executable adds the program's path to it once more.
  cluster.setupPrimary({ exec: process.argv[1], args: [], silent: false });
  const own = new Registry();
  const running = new Gauge({ name: 'devlic_server_workers', help: 'Worker processes of this host listening now (serve --workers)', registers: [own] });
  const restarts = new Counter({ name: 'devlic_server_worker_restarts_total', help: 'Workers of this host restarted after they stopped unasked', registers: [own] });
  const aggregator = new AggregatorRegistry();
  const slots: Slot[] = Array.from({ length: n }, () => ({ worker: null, listeningAt: 0, url: null, restart: new RestartDelay(), timer: null, failure: null }));
  let announced = false;
  let stopping = false;
  let startFailed: ((e: Error) => void) | null = null;
  let allListening: (() => void) | null = null;
  let allStopped: (() => void) | null = null;

  const live = () => slots.filter((s) => s.worker !== null).length;
  const countListening = () => { running.set(slots.filter((s) => s.listeningAt > 0).length); };

  const onMessage = (slot: Slot, w: Worker, m: WorkerMessage) => {
    if (m.type === 'devlic:listening') {
      slot.listeningAt = Date.now();
      slot.url = m.url;
      countListening();
      if (!announced && slots.every((s) => s.listeningAt > 0)) {
        announced = true;
        allListening?.();
      }
    } else if (m.type === 'devlic:start-failed') {
      slot.failure = { code: m.code, message: m.message };
    } else if (m.type === 'devlic:metrics-req') {
      const reply = (r: PrimaryMessage) => { if (w.isConnected()) w.send(r); };
      aggregator.clusterMetrics().then(
        async (text) => reply({ type: 'devlic:metrics-res', id: m.id, text: text + await own.metrics() }),
        (e: Error) => reply({ type: 'devlic:metrics-res', id: m.id, error: e.message }),
      );
    }
  };

  const fork = (slot: Slot) => {
    slot.timer = null;
    slot.listeningAt = 0;
    slot.failure = null;
    const w = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(cfg) });
    slot.worker = w;
    log.info({ worker: w.id, pid: w.process.pid }, 'worker started');
    w.on('message', (m: unknown) => { if (isWorkerMessage(m)) onMessage(slot, w, m); });
    w.once('exit', (code, signal) => {
      const uptime = slot.listeningAt ? Date.now() - slot.listeningAt : 0;
      slot.worker = null;
      slot.listeningAt = 0;
      countListening();
      if (stopping) {
        if (live() === 0) allStopped?.();
        return;
      }
      if (!announced) {
        // The first start: a worker that cannot start means the service cannot (the port is taken, the
        // database refuses): say why once and stop, as a lone `serve` would, instead of retrying forever.
        const f = slot.failure;
        startFailed?.(f ? new DevlicError(f.code as ErrorCode, f.message) : new DevlicError('INTERNAL', `a worker exited before it listened (exit code ${code ?? signal})`));
        return;
      }
      const delay = slot.restart.after(uptime);
      restarts.inc();
      log.error({ worker: w.id, pid: w.process.pid, code, signal, reason: slot.failure?.message, restartInMs: delay, failuresInARow: slot.restart.failures },
        'a worker stopped unasked; starting another');
      slot.timer = setTimeout(() => fork(slot), delay);
    });
  };

  const stopAll = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: live() }, 'stopping');
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      // The worker's own stop path: held long-polls answered, the pool and signing threads closed.
      s.worker?.process.kill('SIGTERM');
    }
    if (live() === 0) allStopped?.();
  };
  const stopped = new Promise<void>((done) => { allStopped = done; });

  let failure: Error | null = null;
  const started = new Promise<void>((resolve, reject) => {
    allListening = resolve;
    // Settled once every worker is gone, so nothing of a failed start is left running: rejected with the
    // first worker's reason, or resolved when a stop signal came before every worker listened.
    void stopped.then(() => (failure ? reject(failure) : resolve()));
    startFailed = (e) => {
      failure ??= e;
      stopAll('start failed');
    };
  });
  process.once('SIGINT', () => stopAll('SIGINT'));
  process.once('SIGTERM', () => stopAll('SIGTERM'));
  for (const s of slots) fork(s);
  await started;
  if (!announced) return { url: null, stopped };
  const url = slots[0].url!;
  log.info({ url, workers: n, pids: slots.map((s) => s.worker?.process.pid), dataDir: cfg.dataDir, database }, 'devlic-server listening');
  return { url, stopped };
}
