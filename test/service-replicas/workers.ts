// What the tests of `devlic-server serve --workers N` share: starting such a
// service (the primary says 'devlic-server listening' once every worker
// listens), an HTTP connection pinned to one worker (a cluster hands each
// connection to one worker for its life, and /healthz says which worker
// answered), and the workers' pids from the primary's log lines.
import { Client } from 'undici';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';

/** Starts `serve` with `workers` from the config file, at log level info, and waits for the primary's listening line. */
export async function startWorkers(workers: number, database: string, opts: { dataDir?: string; port?: number; env?: Record<string, string>; config?: Record<string, unknown> } = {}): Promise<ServiceProcess> {
  const svc = await startService({ database, logLevel: 'info', ...opts, config: { ...opts.config, workers } });
  await waitFor(`all ${workers} workers listening (output: ${svc.output().slice(-2000)})`, () => svc.output().includes('"msg":"devlic-server listening"'), 60_000);
  return svc;
}

/** The service's JSON log lines with this message. */
export function logLines(svc: ServiceProcess, msg: string): Array<Record<string, any>> {
  return svc.output().split('\n').filter((l) => l.startsWith('{') && l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l));
}

/** Worker id -> pid, from the primary's 'worker started' lines (a restarted worker gets a new id). */
export function workerPids(svc: ServiceProcess): Map<number, number> {
  return new Map(logLines(svc, 'worker started').map((l) => [l.worker as number, l.pid as number]));
}

export interface Pinned {
  client: Client;
  /** The worker that holds this connection. */
  worker: number;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>;
  request(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>;
  close(): Promise<void>;
}

/** One keep-alive connection (an undici Client holds one), and the worker its /healthz names. */
export async function pinned(url: string): Promise<Pinned> {
  const client = new Client(url, { pipelining: 1, keepAliveTimeout: 120_000, bodyTimeout: 0, headersTimeout: 0 });
  const request = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const r = await client.request({
      method: method as 'GET', path, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.body.text();
    return { status: r.statusCode, headers: r.headers, body: text && text.startsWith('{') ? JSON.parse(text) : text };
  };
  const health = await request('GET', '/healthz', {});
  if (typeof health.body?.worker !== 'number') throw new Error(`/healthz named no worker: ${JSON.stringify(health.body)}`);
  return { client, worker: health.body.worker, request, get: (path, headers = {}) => request('GET', path, headers), close: () => client.close() };
}

/** Opens connections until each of `workers` (ids) has one; others are closed. */
export async function onePerWorker(url: string, workers: number[]): Promise<Map<number, Pinned>> {
  const out = new Map<number, Pinned>();
  for (let i = 0; i < 20 * workers.length && out.size < workers.length; i++) {
    const p = await pinned(url);
    if (workers.includes(p.worker) && !out.has(p.worker)) out.set(p.worker, p);
    else await p.close();
  }
  if (out.size < workers.length) throw new Error(`no connection reached workers ${workers.filter((w) => !out.has(w)).join(', ')}`);
  return out;
}
