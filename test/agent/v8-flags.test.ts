// Issue 18: `devlic-agent run` switches off V8's optimizing tier for
// WebAssembly at run time (agent/runtime/v8-flags.ts), so undici's HTTP
// parser is never recompiled by TurboFan (a one-off 13-14 MB of RSS that
// stayed). V8 ignores some flags when they are set after start-up
// (`--liftoff-only` is one), so this checks the effect in a real Node
// process: undici's llhttp module, compiled after the agent's flags are set
// and run through many responses, is still baseline (Liftoff) code after a
// second llhttp build, compiled with tiering back on in the same process,
// has been tiered up to TurboFan (which shows tiering would have happened).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE, ROOT, tempDir } from '../helpers/processes.ts';

const script = `
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { applyAgentV8Flags } from ${JSON.stringify(pathToFileURL(join(ROOT, 'agent/runtime/v8-flags.ts')).href)};
const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});
const response = Buffer.from('HTTP/1.1 304 Not Modified\\r\\netag: "7"\\r\\ncontent-length: 0\\r\\n\\r\\n');
function parser(file) {
  const mod = new WebAssembly.Module(require('undici/lib/llhttp/' + file));
  const e = new WebAssembly.Instance(mod, { env: new Proxy({}, { get: () => () => 0 }) }).exports;
  const p = e.llhttp_alloc(1);
  const buf = e.malloc(response.length);
  new Uint8Array(e.memory.buffer, buf, response.length).set(response);
  for (let i = 0; i < 100000; i++) e.llhttp_execute(p, buf, response.length);
  return e.llhttp_execute;
}
applyAgentV8Flags();
const agents = parser('llhttp_simd-wasm.js');
setFlagsFromString('--wasm-tier-up');
setFlagsFromString('--wasm-dynamic-tiering');
const control = parser('llhttp-wasm.js');
const deadline = Date.now() + 60000;
while (!%IsTurboFanFunction(control) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ controlTurboFan: %IsTurboFanFunction(control), agentLiftoff: %IsLiftoffFunction(agents), agentTurboFan: %IsTurboFanFunction(agents) }));
`;

describe('the agent V8 flags (issue 18)', () => {
  it('keep undici\'s WebAssembly parser on the baseline tier, where it would otherwise be tiered up', () => {
    const file = join(tempDir('v8-flags'), 'tier.mjs');
    writeFileSync(file, script);
    const r = spawnSync(NODE, ['--allow-natives-syntax', file], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ controlTurboFan: true, agentLiftoff: true, agentTurboFan: false });
  });
});
