// Issue 18 (agent memory): the release bundle loads node:http, node:http2,
// node:assert and node:worker_threads where undici, sonic-boom and
// thread-stream first need them instead of when they load
// (installer/build/lazy-builtins.ts). The patched modules must no longer
// require them at the top, a lazy assert must fail exactly as node:assert
// does, HTTP/2's constants must be Node's, and the build must fail when the
// third-party code no longer looks as the patch expects.
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import { maxHeaderSize } from 'node:http';
import { constants as h2 } from 'node:http2';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_MAX_HEADER_SIZE } from '../../agent/sync/client.ts';
import { LAZY_ASSERT, LazyBuiltinPatchError, lazyBuiltinPatchFor, patchLazyBuiltins } from '../../installer/build/lazy-builtins.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const file = (rel: string) => join(ROOT, 'node_modules', rel);
const read = (rel: string) => readFileSync(file(rel), 'utf8');
const patched = (rel: string) => patchLazyBuiltins(read(rel), file(rel));
// A require of one of these at the top of a module (a whole line, not inside a function).
const TOP_LEVEL = /^(const|let|var) [^\n=]+= require\('(node:)?(http|http2|assert|worker_threads)'\)/m;

const MODULES = [
  'undici/lib/core/util.js', 'undici/lib/dispatcher/client.js', 'undici/lib/dispatcher/client-h1.js',
  'undici/lib/dispatcher/client-h2.js', 'undici/lib/api/api-request.js', 'undici/lib/core/request.js',
  'undici/lib/core/connect.js', 'sonic-boom/index.js', 'thread-stream/index.js',
];

const lazyAssert = new Function('require', `${LAZY_ASSERT}; return assert`)(createRequire(import.meta.url)) as (...a: unknown[]) => void;
const nodeAssert = createRequire(import.meta.url)('node:assert') as (...a: unknown[]) => void;
function thrown(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('built-ins required where they are first needed (release bundle)', () => {
  it.each(MODULES)('%s no longer requires http, http2, assert or worker_threads at its top', (rel) => {
    expect(read(rel)).toMatch(TOP_LEVEL); // it did before
    expect(patched(rel)).not.toMatch(TOP_LEVEL);
  });

  it('the lazy assert does nothing for a true value and fails exactly as node:assert does', () => {
    for (const v of [true, 1, 'x', {}, []]) expect(thrown(() => lazyAssert(v, 'm'))).toBeUndefined();
    for (const args of [[false, 'parser paused'], [0, 'zero'], [null, new TypeError('own error')], []]) {
      const mine = thrown(() => lazyAssert(...args));
      const node = thrown(() => nodeAssert(...args));
      expect(mine).toBeInstanceOf((node as object).constructor);
      expect((mine as Error).message).toBe((node as Error).message);
      expect((mine as { code?: string }).code).toBe((node as { code?: string }).code);
    }
    expect(thrown(() => lazyAssert(false, 'x'))).toBeInstanceOf(AssertionError);
  });

  it("undici's HTTP/2 client gets Node's own http2 constants and loads node:http2 only to connect", () => {
    const text = patched('undici/lib/dispatcher/client-h2.js');
    const m = text.match(/const http2 = \{\n {2}constants: (\{[^\n]*\}),/);
    expect(m).not.toBeNull();
    const consts = JSON.parse(m![1]!) as Record<string, unknown>;
    expect(Object.keys(consts).length).toBe(11);
    for (const [k, v] of Object.entries(consts)) expect(v, k).toBe((h2 as unknown as Record<string, unknown>)[k]);
    // Every name undici destructures from it is there.
    const names = text.match(/const \{\n {2}constants: \{([^}]*)\}\n\} = http2/)![1]!.split(',').map((s) => s.trim()).filter(Boolean);
    expect(names.sort()).toEqual(Object.keys(consts).sort());
    expect(text).toContain("connect: (...args) => (http2Module ??= require('node:http2')).connect(...args)");
  });

  it('node:http is read only when a Client has no maxHeaderSize of its own', () => {
    const text = patched('undici/lib/dispatcher/client.js');
    expect(text).toMatch(/const getDefaultNodeMaxHeaderSize = \(\) => \{\n {2}const http = require\('node:http'\)/);
    expect(text.split("require('node:http')").length).toBe(2);
    // The agent gives its Pool Node's own default, so nothing changes for it.
    expect(NODE_MAX_HEADER_SIZE).toBe(maxHeaderSize);
  });

  it('applies to those modules only, with either path separator', () => {
    expect(lazyBuiltinPatchFor('/x/node_modules/undici/lib/core/util.js')).toBeDefined();
    expect(lazyBuiltinPatchFor('C:\\x\\node_modules\\undici\\lib\\core\\util.js')).toBeDefined();
    expect(lazyBuiltinPatchFor('/x/node_modules/thread-stream/index.js')).toBeDefined();
    expect(lazyBuiltinPatchFor('/x/node_modules/pino/pino.js')).toBeUndefined();
    expect(lazyBuiltinPatchFor('/x/agent/sync/client.ts')).toBeUndefined();
    const other = '/x/node_modules/jose/index.js';
    expect(patchLazyBuiltins("const assert = require('node:assert')\nassert.ok(1)", other)).toContain('assert.ok');
  });

  it('fails the build when the code changed: an anchor gone or doubled, another use of assert or http2', () => {
    const util = file('undici/lib/core/util.js');
    const code = (e: unknown) => (e as LazyBuiltinPatchError).code;
    const gone = read('undici/lib/core/util.js').replace("const { IncomingMessage } = require('node:http')", "const { IncomingMessage } = require('http')");
    expect(code(thrown(() => patchLazyBuiltins(gone, util)))).toBe('LAZY_BUILTIN_PATCH_MISMATCH');
    const twice = read('undici/lib/dispatcher/client-h2.js') + '\nconst session = http2.connect(client[kUrl], {';
    expect(code(thrown(() => patchLazyBuiltins(twice, file('undici/lib/dispatcher/client-h2.js'))))).toBe('LAZY_BUILTIN_PATCH_MISMATCH');
    const h2Use = read('undici/lib/dispatcher/client-h2.js') + '\nhttp2.getDefaultSettings()';
    expect(thrown(() => patchLazyBuiltins(h2Use, file('undici/lib/dispatcher/client-h2.js')))).toBeInstanceOf(LazyBuiltinPatchError);
    const moreNames = read('undici/lib/dispatcher/client-h2.js').replace('    HTTP2_HEADER_AUTHORITY,\n', '    HTTP2_HEADER_AUTHORITY,\n    HTTP2_HEADER_TE,\n');
    expect(code(thrown(() => patchLazyBuiltins(moreNames, file('undici/lib/dispatcher/client-h2.js'))))).toBe('LAZY_BUILTIN_PATCH_MISMATCH');
    const strict = read('undici/lib/api/api-request.js') + '\nassert.strictEqual(1, 1)';
    expect(thrown(() => patchLazyBuiltins(strict, file('undici/lib/api/api-request.js')))).toBeInstanceOf(LazyBuiltinPatchError);
    // Comments may name assert freely.
    const commented = read('undici/lib/api/api-request.js') + '\n// we used to assert.strictEqual here';
    expect(patchLazyBuiltins(commented, file('undici/lib/api/api-request.js'))).toContain(LAZY_ASSERT);
  });
});
