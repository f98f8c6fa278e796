// Where a process's resident memory lies, read from outside through
// /proc/PID/smaps: works for any process, including the single executable,
// which takes no Node flags. Resident pages are grouped by what they map:
// the executable's own file (its code, and in a single executable the SEA
// blob: bundle and V8 code cache), shared libraries, the C heap ([heap] and
// anonymous mappings, where V8's heap, WASM code, ArrayBuffers and malloc
// live), thread stacks. Used by bench/agent-idle.ts --breakdown.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface MapGroup { name: string; rssKb: number; anonKb: number; mappings: number }

/** Parses smaps text into resident kB per group name (pure: tested through the bench only). */
export function groupSmaps(text: string, exe: string): MapGroup[] {
  const groups = new Map<string, MapGroup>();
  let current: MapGroup | null = null;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const [, perms, path = ''] = head;
      let name: string;
      if (path === exe) name = `executable (${basename(exe)}) ${perms!.includes('x') ? 'code' : 'data/blob'}`;
      else if (path === '[heap]') name = '[heap] (brk: malloc)';
      else if (path.startsWith('[stack')) name = '[stack]';
      else if (path.startsWith('[')) name = path;
      else if (path === '') name = 'anonymous (V8 heap, WASM, mmap malloc, thread stacks)';
      else name = `file ${basename(path)}`;
      current = groups.get(name) ?? { name, rssKb: 0, anonKb: 0, mappings: 0 };
      current.mappings++;
      groups.set(name, current);
      continue;
    }
    const kv = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (kv && current) {
      if (kv[1] === 'Rss') current.rssKb += Number(kv[2]);
      else current.anonKb += Number(kv[2]);
    }
  }
  return [...groups.values()].filter((g) => g.rssKb > 0).sort((a, b) => b.rssKb - a.rssKb);
}

export function smapsOf(pid: number): MapGroup[] {
  const exe = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!;
  let real = exe;
  try {
    real = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').map((l) => l.split(/\s+/)[5]).find((p) => p && basename(p) === basename(exe)) ?? exe;
  } catch { /* keep the command's name */ }
  return groupSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'), real);
}

/** Side by side, MB, the groups of two processes (agent and baseline). */
export function printBreakdown(a: { label: string; pid: number }, b: { label: string; pid: number }): void {
  const ga = smapsOf(a.pid);
  const gb = smapsOf(b.pid);
  const norm = (n: string) => n.replace(/^executable \(.*?\)/, 'executable');
  const names = [...new Set([...ga, ...gb].map((g) => norm(g.name)))];
  const find = (gs: MapGroup[], n: string) => gs.find((g) => norm(g.name) === n)?.rssKb ?? 0;
  const rows = names.map((n) => ({ n, a: find(ga, n), b: find(gb, n) })).sort((x, y) => (y.a - y.b) - (x.a - x.b));
  const mb = (kb: number) => (kb / 1024).toFixed(1).padStart(8);
  console.log(`\nresident memory by mapping (/proc/PID/smaps), MB`);
  console.log(`${'mapping'.padEnd(58)} ${a.label.padStart(8)} ${b.label.padStart(8)}    diff`);
  for (const r of rows) {
    if (r.a < 256 && r.b < 256) continue;
    console.log(`${r.n.slice(0, 58).padEnd(58)} ${mb(r.a)} ${mb(r.b)} ${mb(r.a - r.b)}`);
  }
  const ta = ga.reduce((s, g) => s + g.rssKb, 0);
  const tb = gb.reduce((s, g) => s + g.rssKb, 0);
  console.log(`${'total'.padEnd(58)} ${mb(ta)} ${mb(tb)} ${mb(ta - tb)}`);
}
