// Recovery storm: 100,000 simulated agents, a one-hour outage of the
// service, and the request rate when it comes back. Each agent follows the
// agent's own policy: a 55 s long-poll loop while the service is up, and
// the shared Backoff (full jitter, 1 s base, 5 min cap) while it is down.
// The same fleet with exponential backoff *without* jitter and with a fixed
// 5 s retry are printed next to it. The steady rate (everyone long-polling)
// is the baseline: the goal is a peak within 3 times it.
// Run: node_modules/.bin/node bench/recovery-storm.ts   (DEVLIC_BENCH_AGENTS=100000)
import { Backoff } from '../shared/backoff.ts';
import { mulberry32 } from '../test/helpers/prng.ts';

const N = Number(process.env.DEVLIC_BENCH_AGENTS ?? 100_000);
const WAIT_S = 55;
const OUTAGE_START = 600, OUTAGE_END = OUTAGE_START + 3600, END = OUTAGE_END + 1200;


type Policy = { name: string; delayMs: (b: Backoff, rnd: () => number, failures: number) => number; jitter: boolean };
const POLICIES: Policy[] = [
  { name: 'full jitter (devlic)', jitter: true, delayMs: (b) => b.next() },
  { name: 'exponential, no jitter', jitter: false, delayMs: (_b, _r, f) => Math.min(300_000, 1000 * 2 ** Math.min(f, 30)) },
  { name: 'fixed 5 s retry', jitter: false, delayMs: () => 5000 },
];

function simulate(p: Policy, seed: number): Float64Array {
  const rnd = mulberry32(seed);
  const perSecond = new Float64Array(END);
  for (let i = 0; i < N; i++) {
    const b = new Backoff({ baseMs: 1000, maxMs: 300_000, random: rnd });
    let t = rnd() * WAIT_S; // phase of this agent's long-poll cycle
    let failures = 0;
    while (t < END) {
      perSecond[Math.floor(t)]++;
      const down = t >= OUTAGE_START && t < OUTAGE_END;
      if (!down) {
        failures = 0;
        b.reset();
        const next = t + WAIT_S;
        // A long-poll held when the outage starts is cut at that moment and fails.
        t = t < OUTAGE_START && next >= OUTAGE_START ? OUTAGE_START + p.delayMs(b, rnd, failures++) / 1000 : next;
      } else {
        t += p.delayMs(b, rnd, failures++) / 1000;
      }
    }
  }
  return perSecond;
}

const rows = POLICIES.map((p) => {
  const s = simulate(p, 42);
  const window = (from: number, to: number) => s.subarray(from, to);
  const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const max = (xs: Float64Array) => xs.reduce((a, b) => Math.max(a, b), 0);
  const steady = mean(window(120, OUTAGE_START));
  const peakAfter = max(window(OUTAGE_END, END));
  return {
    policy: p.name,
    'steady req/s (baseline)': Math.round(steady),
    'peak req/s during outage': Math.round(max(window(OUTAGE_START + 1, OUTAGE_END))),
    'peak req/s after recovery': Math.round(peakAfter),
    'peak / steady': +(peakAfter / steady).toFixed(2),
    'within 3x': peakAfter <= 3 * steady ? 'yes' : 'NO',
  };
});
console.log(`${N} agents, long-poll ${WAIT_S} s, outage ${(OUTAGE_END - OUTAGE_START) / 60} min, 1 s buckets`);
console.table(rows);
