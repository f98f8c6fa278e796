// The parent's side of the light long-poll clients: forks longpoll-client.ts
// workers over slices of the seeded devices (each worker process has its own
// open-file limit), sums their progress, and collects their answer times.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface FleetProgress { connected: number; waiting: number; answered: number; notModified: number; errors: number }

export interface LightFleet {
  progress(): FleetProgress;
  /** [arrival ms, 1 licensed / 0 unlicensed] of every answered long-poll, all workers, why clients failed, and [opened, held] ms of each device. */
  answers(): Promise<{ answers: [number, number][]; errorCodes: Record<string, number>; held: [number, number][] }>;
  stop(): void;
}

/** Devices [offset, offset + devices) of the tokens file, split over `workers` processes. */
/** knownEtag: devices start from this ETag (a conditional fetch, no first token to sign): see longpoll-client.ts. */
export function startLightFleet(opts: { port: number; tokensFile: string; devices: number; workers: number; waitSeconds?: number; offset?: number; knownEtag?: string }): LightFleet {
  const n = opts.devices;
  const base = opts.offset ?? 0;
  const workers: ChildProcess[] = [];
  const state: FleetProgress[] = [];
  for (let w = 0; w < opts.workers && n > 0; w++) {
    const from = Math.floor((w * n) / opts.workers), to = Math.floor(((w + 1) * n) / opts.workers);
    const args = [String(opts.port), opts.tokensFile, String(base + from), String(base + to), String(opts.waitSeconds ?? 240), ...(opts.knownEtag ? [opts.knownEtag] : [])];
    const child = fork(join(import.meta.dirname, 'longpoll-client.ts'), args, { stdio: 'inherit' });
    state.push({ connected: 0, waiting: 0, answered: 0, notModified: 0, errors: 0 });
    child.on('message', (m: any) => { if (!m.done) state[w] = m; });
    workers.push(child);
  }
  return {
    progress() {
      const sum: FleetProgress = { connected: 0, waiting: 0, answered: 0, notModified: 0, errors: 0 };
      for (const s of state) for (const k of Object.keys(sum) as (keyof FleetProgress)[]) sum[k] += s[k];
      return sum;
    },
    async answers() {
      const reports = await Promise.all(workers.map((w) => new Promise<any>((res) => {
        w.on('message', (m: any) => m.done && res(m));
        w.send('report');
      })));
      const errorCodes: Record<string, number> = {};
      for (const r of reports) for (const [k, v] of Object.entries<number>(r.errorCodes)) errorCodes[k] = (errorCodes[k] ?? 0) + v;
      return { answers: reports.flatMap((r) => r.answers as [number, number][]), errorCodes, held: reports.flatMap((r) => r.held as [number, number][]) };
    },
    stop() {
      for (const w of workers) if (w.connected) w.send('exit');
    },
  };
}

/** The p-th percentile of sorted numbers (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** How many long-polls the service says it holds (its own gauge). */
export async function heldLongPolls(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.match(/devlic_longpolls_waiting (\d+)/)?.[1] ?? 0);
}
