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

// The same flags keep JavaScript on the interpreter and Sparkplug: a function
// hot enough that V8 would optimize it (the control, in a process without the
// flags) is neither Maglev nor TurboFan code once the agent's flags are set.
const jsTiers = `
import { applyAgentV8Flags } from ${JSON.stringify(pathToFileURL(join(ROOT, 'agent/runtime/v8-flags.ts')).href)};
if (process.argv[2] === 'agent') applyAgentV8Flags();
function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 2; return s; }
const arr = Array.from({ length: 1000 }, (_, i) => i);
for (let i = 0; i < 100000; i++) hot(arr);
const s = %GetOptimizationStatus(hot);
console.log(JSON.stringify({ maglev: (s & 32) !== 0, turbofan: (s & 64) !== 0 }));
`;

// The start-up collection: garbage left by start-up is given back, and the
// agent's own realm never gets a global gc().
const startupGc = `
import { scheduleStartupGc } from ${JSON.stringify(pathToFileURL(join(ROOT, 'agent/runtime/v8-flags.ts')).href)};
let junk = Array.from({ length: 400000 }, (_, i) => ({ i, s: 'x' + i }));
junk.length = 0;
junk = null;
const before = process.memoryUsage().heapTotal;
scheduleStartupGc(10);
const t = setInterval(() => {}, 1000);
setTimeout(() => {
  clearInterval(t);
  console.log(JSON.stringify({ globalGc: typeof globalThis.gc, shrunkMb: Math.round((before - process.memoryUsage().heapTotal) / 1048576) }));
}, 500);
`;

describe('the agent V8 settings for JavaScript and the heap (issue 18)', () => {
  it('keep hot JavaScript off Maglev and TurboFan, which V8 would otherwise use', () => {
    const file = join(tempDir('v8-flags'), 'js.mjs');
    writeFileSync(file, jsTiers);
    const run = (mode: string) => {
      const r = spawnSync(NODE, ['--allow-natives-syntax', file, mode], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as { maglev: boolean; turbofan: boolean };
    };
    expect(run('control')).toEqual({ maglev: false, turbofan: true });
    expect(run('agent')).toEqual({ maglev: false, turbofan: false });
  });

  it('collect the start-up garbage once, without a global gc()', () => {
    const file = join(tempDir('v8-flags'), 'gc.mjs');
    writeFileSync(file, startupGc);
    const r = spawnSync(NODE, [file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { globalGc: string; shrunkMb: number };
    expect(out.globalGc).toBe('undefined');
    expect(out.shrunkMb).toBeGreaterThanOrEqual(10);
  });
});
