// What one held long-poll costs the Waiters (service/http/waiters.ts) against
// another checkout's: heap per held wait, and CPU to wake a device's wait and
// re-arm it, 20,000 devices in this one process, the two alternated.
// Run: node_modules/.bin/node --expose-gc bench/waiters-cost.ts
//   DEVLIC_BENCH_COMPARE=DIR (required: e.g. `git archive` of main), DEVLIC_BENCH_ROUNDS=3
import { join, resolve } from 'node:path';
import { ROOT } from '../test/helpers/processes.ts';

const COMPARE = process.env.DEVLIC_BENCH_COMPARE;
if (!COMPARE) throw new Error('DEVLIC_BENCH_COMPARE=DIR: the checkout to compare with');
if (!globalThis.gc) throw new Error('run with node --expose-gc');
const ROUNDS = Number(process.env.DEVLIC_BENCH_ROUNDS ?? 3);
const N = 20_000;
type WaitersClass = new (opts: object) => {
  wait(id: string, ms: number, onAbort: (c: () => void) => void): Promise<unknown> | null; notify(ids: string[]): void; releaseAll(): void;
};
const [before, mine] = await Promise.all([resolve(COMPARE), ROOT].map(async (root) =>
  (await import(join(root, 'service', 'http', 'waiters.ts'))).Waiters as WaitersClass));

/** Bytes of heap per held wait, with the caller's cancel closure as the route keeps it. */
function heldHeap(W: WaitersClass): number {
  globalThis.gc!(); globalThis.gc!();
  const start = process.memoryUsage().heapUsed;
  const w = new W({});
  const keep: unknown[] = [];
  for (let i = 0; i < N; i++) {
    let cancel = () => {};
    keep.push(w.wait(`dev_${i}`, 55_000, (c) => { cancel = c; }), () => cancel());
  }
  globalThis.gc!(); globalThis.gc!();
  const per = (process.memoryUsage().heapUsed - start) / N;
  w.releaseAll();
  return per;
}

/** CPU µs to wake every device's wait and hold a new one, 20 times over. */
async function cycle(W: WaitersClass): Promise<number> {
  const w = new W({});
  const ids = Array.from({ length: N }, (_, i) => `dev_${i}`);
  const arm = () => { for (const id of ids) { let cancel = () => {}; void w.wait(id, 55_000, (c) => { cancel = c; })!.then(() => cancel); } };
  arm();
  const t0 = process.cpuUsage();
  for (let r = 0; r < 20; r++) {
    w.notify(ids);
    await new Promise((res) => setImmediate(res));
    arm();
  }
  const t = process.cpuUsage(t0);
  w.releaseAll();
  return (t.user + t.system) / (20 * N);
}

const rows = [];
for (let round = 1; round <= ROUNDS; round++) {
  const order: [string, WaitersClass][] = [['before', before], ['this', mine]];
  if (round % 2 === 0) order.reverse();
  for (const [code, W] of order) rows.push({ round, code, 'heap bytes per held wait': Math.round(heldHeap(W)), 'CPU µs per wake + re-arm': +(await cycle(W)).toFixed(2) });
}
console.table(rows);
process.exit(0);
