// Summarises a V8 heap snapshot (.heapsnapshot, from v8.writeHeapSnapshot)
// of the agent for bench/agent-idle.ts --heap: the heap's bytes by V8 node
// type (code, strings, objects...), and the code each bundled module keeps
// alive. A bundle is one script, so a function is placed in its module by its
// line: esbuild's unminified bundles start every module with a `// path`
// comment line. A module's "code" is its functions' closures, their
// SharedFunctionInfos and what those alone hold of type code (bytecode,
// scope infos, feedback metadata); objects the module allocated are not
// attributed (a heap snapshot does not say which code made an object).
//
//   node bench/heap-summary.ts FILE.heapsnapshot BUNDLE.js
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]]; location_fields: string[] } };
  nodes: number[]; edges: number[]; strings: string[]; locations: number[];
}

/** First line (0-based) of each module in an unminified esbuild bundle, with its package or folder. */
export function moduleStarts(bundleText: string): Array<{ line: number; module: string }> {
  const out: Array<{ line: number; module: string }> = [];
  const lines = bundleText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ ((?:node_modules|agent|shared|installer|service)\/\S+)$/.exec(lines[i]!);
    if (m) out.push({ line: i, module: groupName(m[1]!) });
  }
  return out;
}

/** node_modules/undici/lib/x.js -> undici; agent/sync/poll.ts -> agent/sync. */
export function groupName(path: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (pkg) return pkg[1]!;
  return path.split('/').slice(0, 2).join('/');
}

export function summarise(snap: Snapshot, starts: Array<{ line: number; module: string }>) {
  const meta = snap.snapshot.meta;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const fType = meta.node_fields.indexOf('type');
  const fName = meta.node_fields.indexOf('name');
  const fSize = meta.node_fields.indexOf('self_size');
  const fEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const n = nodes.length / NF;

  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += nodes[i * NF + fEdges]! * EF;
    firstEdge[i + 1] = e;
  }

  const byType = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = types[nodes[i * NF + fType]!]!;
    const s = nodes[i * NF + fSize]!;
    byType.set(t, (byType.get(t) ?? 0) + s);
    total += s;
  }

  // The bundle's script: the one with the most function locations.
  const LF = meta.location_fields.length;
  const lObj = meta.location_fields.indexOf('object_index');
  const lScript = meta.location_fields.indexOf('script_id');
  const lLine = meta.location_fields.indexOf('line');
  const perScript = new Map<number, number>();
  for (let i = 0; i < snap.locations.length; i += LF) perScript.set(snap.locations[i + lScript]!, (perScript.get(snap.locations[i + lScript]!) ?? 0) + 1);
  const bundleScript = [...perScript.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];

  const moduleAt = (line: number): string => {
    let lo = 0, hi = starts.length - 1, found = '(bundle prelude)';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]!.line <= line) { found = starts[mid]!.module; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  };

  const owner = new Map<number, string>();
  const perModule = new Map<string, { bytes: number; functions: number }>();
  const claim = (node: number, mod: string) => {
    if (owner.has(node)) return false;
    owner.set(node, mod);
    const m = perModule.get(mod) ?? { bytes: 0, functions: 0 };
    m.bytes += nodes[node * NF + fSize]!;
    perModule.set(mod, m);
    return true;
  };
  for (let i = 0; i < snap.locations.length; i += LF) {
    if (snap.locations[i + lScript] !== bundleScript) continue;
    const node = snap.locations[i + lObj]! / NF;
    if (types[nodes[node * NF + fType]!] !== 'closure') continue;
    const mod = moduleAt(snap.locations[i + lLine]!);
    if (!claim(node, mod)) continue;
    perModule.get(mod)!.functions++;
    for (let e = firstEdge[node]!; e < firstEdge[node + 1]!; e += EF) {
      if (edgeTypes[edges[e + eType]!] !== 'internal' || strings[edges[e + eName]!] !== 'shared') continue;
      const sfi = edges[e + eTo]! / NF;
      if (!claim(sfi, mod)) continue;
      for (let f = firstEdge[sfi]!; f < firstEdge[sfi + 1]!; f += EF) {
        const to = edges[f + eTo]! / NF;
        if (types[nodes[to * NF + fType]!] === 'code') claim(to, mod);
      }
    }
  }
  void fName;
  return { total, byType, perModule };
}

export function printSummary(file: string, bundleFile: string): void {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { total, byType, perModule } = summarise(snap, moduleStarts(readFileSync(bundleFile, 'utf8')));
  const mb = (b: number) => (b / 1048576).toFixed(2).padStart(7);
  console.log(`\nheap snapshot: ${mb(total)} MB of objects on the V8 heap, by V8 node type:`);
  for (const [t, s] of [...byType.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${t.padEnd(22)} ${mb(s)} MB`);
  const mods = [...perModule.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  const codeTotal = mods.reduce((s, [, m]) => s + m.bytes, 0);
  console.log(`code kept alive per bundled module (closures, SharedFunctionInfos, bytecode): ${mb(codeTotal)} MB`);
  for (const [name, m] of mods.slice(0, 14)) console.log(`  ${name.padEnd(22)} ${mb(m.bytes)} MB  ${String(m.functions).padStart(5)} functions`);
}

if (import.meta.main) printSummary(process.argv[2]!, process.argv[3]!);
