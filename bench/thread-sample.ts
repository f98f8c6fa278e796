// Per-thread CPU and the memory split of one process, read from /proc: what
// bench/agent-idle.ts --threads prints at each sample, to see which thread
// works (and which kind of memory grows) when an idle process wakes.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux

export interface Sample {
  /** thread id -> [name, CPU ms so far] */
  threads: Map<string, [string, number]>;
  /** smaps_rollup fields, kB */
  mem: Record<string, number>;
}

export function sample(pid: number): Sample {
  const threads = new Map<string, [string, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, [name, ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK]);
    } catch {
      // the thread ended meanwhile
    }
  }
  const mem: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = line.match(/^(\w+):\s+(\d+) kB/);
    if (m) mem[m[1]!] = Number(m[2]);
  }
  return { threads, mem };
}

/** One line: RSS split, new/ended threads and the threads that used CPU since `before`. */
export function describe(before: Sample, after: Sample): string {
  const mb = (k: number) => (k / 1024).toFixed(1);
  const parts = [`rss ${mb(after.mem.Rss ?? 0)} (anon ${mb(after.mem.Anonymous ?? 0)}, file ${mb((after.mem.Rss ?? 0) - (after.mem.Anonymous ?? 0))}) MB, ${after.threads.size} threads`];
  const busy: string[] = [];
  for (const [tid, [name, ms]] of after.threads) {
    const was = before.threads.get(tid);
    if (!was) busy.push(`+${name}/${tid} ${ms} ms`);
    else if (ms > was[1]) busy.push(`${name}/${tid} ${ms - was[1]} ms`);
  }
  for (const [tid, [name]] of before.threads) if (!after.threads.has(tid)) busy.push(`-${name}/${tid}`);
  return `${parts[0]}; cpu: ${busy.join(', ') || 'none'}`;
}
