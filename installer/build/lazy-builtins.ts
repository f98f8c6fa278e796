// Build-time changes to third-party code (issue 18, agent memory): some
// libraries require Node built-ins at the top of a module although the
// daemon's path never uses them: undici takes `node:http` for one constant
// and one identity check, and undici, sonic-boom and thread-stream take
// `node:assert` for invariants that only do something when they fail; thread-stream
// takes `node:worker_threads` for pino transports the agent does not use;
// undici's HTTP/2 client takes `node:http2` (and with it node:http and
// node:assert) when it loads, although it needs it only once a server
// has chosen h2 by ALPN. What undici offers in ALPN is decided by its
// connector (allowH2), not by this require, so the wire is the same.
// Each built-in loaded costs its compiled code and the pages of its source
// and code cache in the executable, for good (bench/README.md, issue 18
// part 7). In the release bundle these requires become lazy: the same
// built-in, loaded at the moment it is first needed, so behaviour is
// unchanged; only when is different. Pure text in, text out: the bundle
// plugin applies it, and the build fails if the patched code no longer looks
// as expected (a new undici or pino must be looked at again).

import { constants as http2Constants } from 'node:http2';

export class LazyBuiltinPatchError extends Error {
  readonly code = 'LAZY_BUILTIN_PATCH_MISMATCH';
}

/**
 * `assert(value, message)` that loads node:assert only when an assertion
 * fails, then fails exactly as node:assert does (same arguments, so the same
 * AssertionError). Passing assertions do nothing either way.
 */
export const LAZY_ASSERT = 'const assert = (...args) => { if (!args[0]) require(\'node:assert\')(...args) }';

interface Patch {
  /** Text that must occur exactly once in the module. */
  anchor: string;
  replacement: string;
}

interface ModulePatch {
  /** Matches the module's path (either separator). */
  file: RegExp;
  patches: Patch[];
  /** A use the patched module must no longer make (outside comments), and what it is. */
  onlyUses?: [RegExp, string];
  /** node:assert made lazy: the module may call assert(...) only, never assert.x. */
  lazyAssert?: string;
  /** Further checks of the original source; returns what is wrong, or null. */
  verify?: (source: string) => string | null;
}

/** The names undici's HTTP/2 client destructures from http2.constants must be exactly those written in. */
export function checkH2Names(source: string): string | null {
  const m = source.match(/const \{\n {2}constants: \{([^}]*)\}\n\} = http2/);
  if (!m) return 'no `const { constants: { ... } } = http2`';
  const names = m[1]!.split(',').map((n) => n.trim()).filter(Boolean).sort();
  const known = [...H2_NAMES].sort();
  return names.join() === known.join() ? null : `it takes ${names.join(', ')} from http2.constants, the build writes in ${known.join(', ')}`;
}

/** The http2.constants undici's HTTP/2 client destructures. */
const H2_NAMES = ['HTTP2_HEADER_AUTHORITY', 'HTTP2_HEADER_METHOD', 'HTTP2_HEADER_PATH', 'HTTP2_HEADER_SCHEME',
  'HTTP2_HEADER_CONTENT_LENGTH', 'HTTP2_HEADER_EXPECT', 'HTTP2_HEADER_STATUS', 'HTTP2_HEADER_PROTOCOL',
  'NGHTTP2_NO_ERROR', 'NGHTTP2_PROTOCOL_ERROR', 'NGHTTP2_REFUSED_STREAM'] as const;
const H2_CONSTANTS: Record<string, string | number> = Object.fromEntries(
  H2_NAMES.map((n) => [n, (http2Constants as unknown as Record<string, string | number>)[n]!]));

const UNDICI = String.raw`node_modules[\\/]undici[\\/]lib[\\/]`;

export const MODULE_PATCHES: readonly ModulePatch[] = [
  {
    // The identity check runs when undici destroys a stream; a real
    // IncomingMessage exists only if node:http is loaded already, so its
    // constructor's name is checked first and node:http only then.
    file: new RegExp(`${UNDICI}core[\\\\/]util\\.js$`),
    patches: [
      { anchor: "const { IncomingMessage } = require('node:http')\n", replacement: '' },
      {
        anchor: 'if (Object.getPrototypeOf(stream).constructor === IncomingMessage) {',
        replacement: "const ctor = Object.getPrototypeOf(stream).constructor\n    if (ctor?.name === 'IncomingMessage' && ctor === require('node:http').IncomingMessage) {",
      },
    ],
    lazyAssert: "const assert = require('node:assert')",
  },
  {
    // node:http's maxHeaderSize is read when a Client is made without one;
    // the agent passes its own (agent/sync/client.ts), so node:http stays unloaded.
    file: new RegExp(`${UNDICI}dispatcher[\\\\/]client\\.js$`),
    patches: [
      { anchor: "const http = require('node:http')\n", replacement: '' },
      {
        anchor: `const getDefaultNodeMaxHeaderSize = http &&
  http.maxHeaderSize &&
  Number.isInteger(http.maxHeaderSize) &&
  http.maxHeaderSize > 0
  ? () => http.maxHeaderSize
  : () => { throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid') }`,
        replacement: `const getDefaultNodeMaxHeaderSize = () => {
  const http = require('node:http')
  if (http && http.maxHeaderSize && Number.isInteger(http.maxHeaderSize) && http.maxHeaderSize > 0) return http.maxHeaderSize
  throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid')
}`,
      },
    ],
    lazyAssert: "const assert = require('node:assert')",
  },
  {
    // node:http2 loaded by the first h2 connection, not by undici's loading.
    // The header names and error codes it takes from http2.constants are
    // fixed by RFC 9113 / nghttp2; the build writes in those of its own Node.
    file: new RegExp(`${UNDICI}dispatcher[\\\\/]client-h2\\.js$`),
    patches: [
      {
        anchor: `let http2
try {
  http2 = require('node:http2')
} catch {
  // @ts-ignore
  http2 = { constants: {} }
}`,
        replacement: `let http2Module
const http2 = {
  constants: ${JSON.stringify(H2_CONSTANTS)},
  connect: (...args) => (http2Module ??= require('node:http2')).connect(...args)
}`,
      },
      { anchor: 'const session = http2.connect(client[kUrl], {', replacement: 'const session = http2.connect(client[kUrl], {' },
    ],
    onlyUses: [/\bhttp2\.(?!connect\(client\[kUrl\])/, 'http2 other than http2.connect'],
    verify: checkH2Names,
    lazyAssert: "const assert = require('node:assert')",
  },
  {
    // Every other undici module the bundle holds: node:assert only.
    file: new RegExp(`${UNDICI}(?!core[\\\\/]util\\.js$|dispatcher[\\\\/]client(-h2)?\\.js$).*\\.js$`),
    patches: [],
    lazyAssert: "const assert = require('node:assert')",
  },
  {
    file: /node_modules[\\/]sonic-boom[\\/]index\.js$/,
    patches: [],
    lazyAssert: "const assert = require('assert')",
  },
  {
    // A Worker is made only for a pino transport (the agent has none).
    file: /node_modules[\\/]thread-stream[\\/]index\.js$/,
    patches: [
      { anchor: "const { Worker } = require('worker_threads')\n", replacement: '' },
      { anchor: 'const worker = new Worker(toExecute, {', replacement: "const worker = new (require('worker_threads').Worker)(toExecute, {" },
    ],
    lazyAssert: "const assert = require('assert')",
  },
];

/** The patches for this module, or undefined when it is not one we change. */
export function lazyBuiltinPatchFor(path: string): ModulePatch | undefined {
  return MODULE_PATCHES.find((m) => m.file.test(path));
}

function once(source: string, anchor: string, path: string): void {
  const n = source.split(anchor).length - 1;
  if (n !== 1) throw new LazyBuiltinPatchError(`${path} changed: expected "${anchor.split('\n')[0]}" once, found it ${n} times; review installer/build/lazy-builtins.ts`);
}

/** The module's source with its built-ins made lazy (see the header). Throws LazyBuiltinPatchError when it does not match. */
export function patchLazyBuiltins(source: string, path: string): string {
  const m = lazyBuiltinPatchFor(path);
  if (!m) return source;
  const wrong = m.verify?.(source);
  if (wrong) throw new LazyBuiltinPatchError(`${path} changed: ${wrong}; review installer/build/lazy-builtins.ts`);
  let text = source;
  for (const p of m.patches) {
    once(text, p.anchor, path);
    text = text.replace(p.anchor, () => p.replacement);
  }
  const code = (t: string) => t.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  if (m.onlyUses && m.onlyUses[0].test(code(text))) throw new LazyBuiltinPatchError(`${path} uses ${m.onlyUses[1]}: review installer/build/lazy-builtins.ts`);
  if (m.lazyAssert && text.includes(m.lazyAssert)) {
    once(text, m.lazyAssert, path);
    // Any use other than a plain call (assert.strictEqual, passing assert
    // around) would need node:assert itself: refuse rather than guess.
    // Comments may say "assert" freely.
    const rest = code(text.replace(m.lazyAssert, ''));
    const uses = rest.match(/\bassert\b/g)?.length ?? 0;
    const calls = rest.match(/\bassert\(/g)?.length ?? 0;
    if (uses !== calls) throw new LazyBuiltinPatchError(`${path} uses node:assert other than as assert(...): review installer/build/lazy-builtins.ts`);
    text = text.replace(m.lazyAssert, () => LAZY_ASSERT);
  }
  return text;
}
