// What the agent's release bundle carries (issue 18, agent memory): builds it
// as the single executable does (installer/build/bundle.ts) and prints its
// bytes by npm package or source folder, the largest modules, and whether
// the whole source is Latin-1 (V8 then keeps the script's source as a
// one-byte string; one other character would make it two-byte, twice the
// size on the heap, for as long as the process runs).
//
//   node bench/bundle-contents.ts [--entry installer/agent-entry.ts] [--top 25]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundle } from '../installer/build/bundle.ts';
import { ROOT, tempDir } from '../test/helpers/processes.ts';

const { values: args } = parseArgs({ options: { entry: { type: 'string' }, top: { type: 'string' } } });
const outfile = join(tempDir('bundle-contents'), 'bundle.cjs');
const r = await bundle({ repo: ROOT, entry: args.entry ?? 'installer/agent-entry.ts', outfile });
const out = Object.values(r.metafile.outputs)[0]!;
const kb = (b: number) => `${(b / 1024).toFixed(1).padStart(8)} kB`;

const byPackage = new Map<string, number>();
for (const [file, i] of Object.entries(out.inputs)) {
  const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  const key = m ? m[1]! : file.split('/').slice(0, 2).join('/');
  byPackage.set(key, (byPackage.get(key) ?? 0) + i.bytesInOutput);
}
const top = Number(args.top ?? 25);
console.log(`bundle ${kb(out.bytes)} (${outfile})\n\nby package or folder:`);
for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${kb(v)}  ${k}`);
console.log('\nlargest modules:');
for (const [f, i] of Object.entries(out.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, top)) console.log(`${kb(i.bytesInOutput)}  ${f}`);

const text = readFileSync(outfile, 'utf8');
let wide = 0;
let first = -1;
for (let i = 0; i < text.length; i++) {
  if (text.charCodeAt(i) > 0xff) {
    wide++;
    if (first < 0) first = i;
  }
}
console.log(`\n${text.length} characters; ${wide ? `${wide} beyond Latin-1 (first: ${JSON.stringify(text.slice(first - 30, first + 5))}): V8 keeps the source two-byte` : 'all Latin-1: V8 keeps the source as a one-byte string'}`);
