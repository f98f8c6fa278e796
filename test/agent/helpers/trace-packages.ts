// Preloaded (`node --import`) into a source run of the agent by
// test/agent/lazy-load.test.ts: prints, on exit, the npm packages the process
// loaded, one line `PACKAGES ["pino",...]` on stderr.
import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';

const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    const m = url.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m) loaded.add(m[1]);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeSync(2, `\nPACKAGES ${JSON.stringify([...loaded].sort())}\n`));
