// Signs batches of entitlement claims in worker threads, so that one assign
// waking thousands of long-polls does not stall the event loop (health checks,
// admin requests and the answers themselves) for the seconds the Ed25519
// signatures take. The tokens are exactly signEntitlement's (see
// worker-source.ts). One worker per core, leaving the event loop its own.
// The active key is handed to every worker at start and again whenever a
// batch asks for another key. A worker that dies rejects its pending batches
// with a clear error and is replaced; if workers cannot start at all, signing
// falls back to the event loop, logged.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../shared/log.ts';
import type { EntitlementClaims } from '../../shared/schemas/device.ts';
import { DevlicError } from '../../shared/errors.ts';
import { entitlementHeader, signEntitlement, type SigningKey } from '../../shared/token.ts';
import { WORKER_SOURCE } from './worker-source.ts';
import { defaultSigningThreads } from '../workers.ts';

/** What EntitlementIssuer signs with: the tokens for `claims`, in order. */
export interface EntitlementSigner {
  signBatch(key: SigningKey, claims: EntitlementClaims[]): Promise<string[]>;
  stop(): Promise<void>;
}

/** Signing on the calling thread: the fallback, and the baseline for the benchmark. */
export const inThreadSigner: EntitlementSigner = {
  signBatch: (key, claims) => Promise.all(claims.map((c) => signEntitlement(key, c))),
  stop: async () => {},
};

/** Most claims in one message: a large wake is split so several workers share it. */
const MAX_CHUNK = 1000;
/** How long a worker may take to start on a busy machine before the pool gives up on threads. */
const START_TIMEOUT_MS = 30_000;

/**
 * Worker threads for signing: DEVLIC_SIGNING_THREADS if set (0 = sign on the
 * event loop, the benchmark's baseline), else one per core but the event
 * loop's, at least one; with `workers` processes on the host, the cores their
 * event loops leave, shared out among them (service/workers.ts).
 */
export function signingThreads(env: NodeJS.ProcessEnv = process.env, workers = 1): number {
  const raw = env.DEVLIC_SIGNING_THREADS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 256) {
      throw new DevlicError('CONFIG_INVALID', `DEVLIC_SIGNING_THREADS must be a whole number from 0 to 256 (got '${raw}')`);
    }
    return n;
  }
  return defaultSigningThreads(availableParallelism(), workers);
}

interface Job { claims: number; resolve: (tokens: string[]) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; jobs: Map<number, Job>; load: number; ready: boolean }

export interface PoolOptions {
  key: SigningKey;
  log: Logger;
  /** Worker count; 0 signs on the event loop. Default signingThreads(). */
  threads?: number;
  /** The workers' code; only tests replace it (to see a worker that cannot start). */
  source?: string;
}

export class SigningPool implements EntitlementSigner {
  private readonly slots: Slot[] = [];
  private readonly log: Logger;
  private readonly source: string;
  private key: SigningKey;
  private nextId = 1;
  private stopped = false;
  /** Set once no worker runs: every batch is then signed on the event loop. */
  private fallback = false;
  /** Finished batches not yet handed back (see deliver). */
  private readonly done: Array<() => void> = [];

  private constructor(key: SigningKey, log: Logger, source: string) {
    this.key = key;
    this.log = log;
    this.source = source;
  }

  /** Starts the workers and waits until each is ready (or falls back to in-thread signing). */
  static async start(opts: PoolOptions): Promise<SigningPool> {
    const pool = new SigningPool(opts.key, opts.log, opts.source ?? WORKER_SOURCE);
    const n = opts.threads ?? signingThreads();
    if (n === 0) {
      pool.fallback = true;
      opts.log.info('signing entitlements on the event loop (DEVLIC_SIGNING_THREADS=0)');
      return pool;
    }
    const started = await Promise.allSettled(Array.from({ length: n }, () => pool.spawn()));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await pool.terminateAll();
      pool.fallback = true;
      opts.log.warn({ err: failed.reason }, 'signing worker threads could not start: signing entitlements on the event loop instead');
    } else {
      opts.log.info({ threads: n }, 'signing entitlements in worker threads');
    }
    return pool;
  }

  /** How many worker threads sign (0 once fallen back to the event loop). */
  get threads(): number {
    return this.fallback ? 0 : this.slots.length;
  }

  /** The running workers: for tests and diagnostics, not for sending work. */
  workers(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  async signBatch(key: SigningKey, claims: EntitlementClaims[]): Promise<string[]> {
    if (this.stopped) throw new DevlicError('INTERNAL', 'the signing pool is stopped');
    if (claims.length === 0) return [];
    // No worker at all (only between a failed restart and the fallback it leads to): sign here.
    if (this.fallback || this.slots.length === 0) return inThreadSigner.signBatch(key, claims);
    if (key !== this.key) this.setKey(key);
    const chunk = Math.min(MAX_CHUNK, Math.ceil(claims.length / this.slots.length));
    const parts: Promise<string[]>[] = [];
    for (let i = 0; i < claims.length; i += chunk) parts.push(this.send(claims.slice(i, i + chunk)));
    return (await Promise.all(parts)).flat();
  }

  /** Hands a new active key to every worker; batches sent after it are signed with it. */
  setKey(key: SigningKey): void {
    this.key = key;
    for (const s of this.slots) s.worker.postMessage(this.keyMessage());
  }

  /** Terminates the workers; batches still pending are rejected. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.terminateAll();
  }

  private keyMessage() {
    return { type: 'key', kid: this.key.kid, header: entitlementHeader(this.key.kid), privateKey: this.key.privateKey };
  }

  private send(claims: EntitlementClaims[]): Promise<string[]> {
    // The least loaded worker: batches of different sizes still spread evenly.
    const slot = this.slots.reduce((a, b) => (b.load < a.load ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { claims: claims.length, resolve, reject });
      slot.load += claims.length;
      if (slot.jobs.size === 1) slot.worker.ref();
      slot.worker.postMessage({ type: 'sign', id, kid: this.key.kid, claims });
    });
  }

  /** Starts one worker with the current key; resolves when it is ready to sign. */
  private spawn(): Promise<void> {
    const worker = new Worker(this.source, { eval: true, name: 'devlic-signing' });
    const slot: Slot = { worker, jobs: new Map(), load: 0, ready: false };
    this.slots.push(slot);
    worker.postMessage(this.keyMessage());
    // An idle pool must not keep the process alive; a busy one must (see send).
    worker.unref();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a signing worker did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      timer.unref();
      worker.on('message', (m: { type?: 'ready'; id?: number; tokens?: string[]; error?: string }) => {
        if (m.type === 'ready') {
          slot.ready = true;
          clearTimeout(timer);
          resolve();
          return;
        }
        const job = slot.jobs.get(m.id!);
        if (!job) return;
        this.finish(slot, m.id!, job);
        if (m.tokens) this.deliver(() => job.resolve(m.tokens!));
        else this.deliver(() => job.reject(new DevlicError('INTERNAL', `signing entitlements failed: ${m.error}`)));
      });
      // 'error' (an uncaught exception in the worker) is always followed by 'exit'.
      let cause: Error | undefined;
      worker.on('error', (e) => { cause = e; });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        this.slots.splice(this.slots.indexOf(slot), 1);
        const why = cause ? `: ${cause.message}` : '';
        if (!slot.ready) reject(cause ?? new Error(`a signing worker exited with code ${code} before it was ready`));
        for (const [id, job] of slot.jobs) {
          this.finish(slot, id, job);
          job.reject(new DevlicError('INTERNAL', `the signing worker stopped (exit code ${code}${why}) before signing ${job.claims} entitlements`));
        }
        if (this.stopped || !slot.ready) return;
        this.log.error({ code, err: cause }, 'a signing worker thread stopped; starting another');
        this.spawn().catch((e: unknown) => {
          if (this.slots.length > 0 || this.stopped) return;
          this.fallback = true;
          this.log.error({ err: e }, 'no signing worker thread could be restarted: signing entitlements on the event loop instead');
        });
      });
    });
  }

  /**
   * Hands back one finished batch per turn of the event loop. Node delivers
   * all messages waiting on a port in one go; if the event loop fell behind
   * the workers, answering every finished batch at once would stall it as
   * long as in-thread signing did. One batch per turn lets other requests
   * (health checks, admins) in between.
   */
  private deliver(settle: () => void): void {
    this.done.push(settle);
    if (this.done.length > 1) return;
    const next = () => {
      this.done.shift()!();
      if (this.done.length > 0) setImmediate(next);
    };
    setImmediate(next);
  }

  private finish(slot: Slot, id: number, job: Job): void {
    slot.jobs.delete(id);
    slot.load -= job.claims;
    if (slot.jobs.size === 0) slot.worker.unref();
  }

  private async terminateAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
