// Step 1 of the single-executable build: esbuild turns one TypeScript entry
// point and all its dependencies into one CommonJS file, the only module
// format a Node 24 SEA can run as its main script.
//
// These adjustments, all confined to the bundle (product code is unchanged):
// - 'better-sqlite3' resolves to installer/sea/better-sqlite3.ts, which loads
//   the addon shipped beside the executable (see that file for why);
// - CommonJS has no top-level await, and the entry modules end with
//   `await runCli(...)`. runCli never rejects (it turns every error into an
//   exit code), and nothing imports an entry module, so in the bundle that
//   line becomes `void runCli(...)`: the same behaviour. Any other top-level
//   await still fails the build, loudly, in esbuild;
// - DEVLIC_RELEASE_BUILD is defined as `true` (agent/release-build.d.ts), so
//   code fenced by `typeof DEVLIC_RELEASE_BUILD === 'undefined'` - the test
//   hooks - is dead and dropped, names and all; syntax minification (the
//   dead-code elimination) is on even in a readable, unminified bundle;
// - CommonJS has no import.meta either: `import.meta.dirname` (and filename,
//   url) of one of our modules becomes that module's folder *relative to the
//   executable's folder* (service/http -> <dir of the executable>/service/http),
//   so code that reads files beside itself looks beside the executable and,
//   if they are not shipped there, gets a clean "not found" instead of a
//   TypeError. Files a program needs should rather be SEA assets (see build.ts).
import { build, type Metafile, type Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { isNodeCronShared, patchNodeCron } from './cron-local-time.ts';
import { lazyBuiltinPatchFor, patchLazyBuiltins } from './lazy-builtins.ts';

export interface BundleOptions {
  repo: string;
  /** Entry point, relative to the repository (e.g. installer/agent-entry.ts). */
  entry: string;
  outfile: string;
  /** Minified code parses faster at every start; off only to read the output. */
  minify?: boolean;
}

export interface BundleResult {
  outfile: string;
  bytes: number;
  /** Dynamic import() calls left in the output: they break SEA's code cache, so the build refuses them. */
  dynamicImports: number;
  /** npm package folders bundled in (relative to the repo), e.g. node_modules/fastify. */
  packages: string[];
  /** esbuild's metafile (inputs and their bytes in the output): bench/bundle-contents.ts reads it. */
  metafile: Metafile;
}

/** What release bundles define (see the header); exported for the test that checks the hooks are gone. */
export const RELEASE_DEFINE: Readonly<Record<string, string>> = { DEVLIC_RELEASE_BUILD: 'true' };

const ENTRY_AWAIT = /^await (runCli\()/m;

/** Rewrites the one top-level `await runCli(` of an entry module (see header). Exported for tests. */
export function stripEntryAwait(source: string): string {
  return source.replace(ENTRY_AWAIT, 'void $1');
}

/** Replaces import.meta.{dirname,filename,url} with executable-relative paths (see header). Exported for tests. */
export function replaceImportMeta(source: string, relFile: string): string {
  const path = 'require("node:path")';
  const base = `${path}.dirname(process.execPath)`;
  const dir = `${path}.join(${base}, ${JSON.stringify(dirname(relFile))})`;
  const file = `${path}.join(${base}, ${JSON.stringify(relFile)})`;
  return source
    .replace(/\bimport\.meta\.dirname\b/g, `(${dir})`)
    .replace(/\bimport\.meta\.filename\b/g, `(${file})`)
    .replace(/\bimport\.meta\.url\b/g, `(require("node:url").pathToFileURL(${file}).href)`);
}

/**
 * The release bundle's changes to third-party code, or undefined for a
 * module it leaves alone: node-cron's local time without Intl for tasks
 * without a time zone (cron-local-time.ts), built-ins required where they are
 * first needed (lazy-builtins.ts). Exported for bench/agent-floor.ts, which
 * bundles the libraries alone the same way.
 */
export function patchThirdParty(text: string, path: string): string | undefined {
  const cron = isNodeCronShared(path);
  const lazy = lazyBuiltinPatchFor(path) !== undefined;
  if (!cron && !lazy) return undefined;
  if (cron) text = patchNodeCron(text);
  if (lazy) text = patchLazyBuiltins(text, path);
  return text;
}

function seaPlugin(repo: string): Plugin {
  const shim = resolve(repo, 'installer/sea/better-sqlite3.ts');
  return {
    name: 'devlic-sea',
    setup(b) {
      // Every importer except the shim itself gets the shim.
      b.onResolve({ filter: /^better-sqlite3$/ }, (args) => (args.importer === shim ? undefined : { path: shim }));
      b.onLoad({ filter: /\.(ts|mjs|js|cjs)$/ }, async (args) => {
        const rel = relative(repo, args.path);
        const entry = /[\\/](main|agent-entry)\.ts$/.test(args.path) && !rel.split(sep).includes('node_modules');
        let text = await readFile(args.path, 'utf8');
        const meta = text.includes('import.meta.');
        const patched = patchThirdParty(text, args.path);
        if (!entry && !meta && patched === undefined) return undefined; // esbuild loads it as usual
        if (patched !== undefined) text = patched;
        if (entry) text = stripEntryAwait(text);
        // Dependencies too: node-cron computes a path from import.meta.url when it loads.
        if (meta) text = replaceImportMeta(text, rel.split(sep).join('/'));
        return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
}

export async function bundle(opts: BundleOptions): Promise<BundleResult> {
  const result = await build({
    absWorkingDir: opts.repo,
    entryPoints: [join(opts.repo, opts.entry)],
    outfile: opts.outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minifyWhitespace: opts.minify ?? true,
    minifyIdentifiers: opts.minify ?? true,
    minifySyntax: true,
    // undici's own switch for bundlers (Node's copy of undici is built with
    // it): no experimental Milo parser, which only UNDICI_USE_MILO=1 would
    // turn on; its two WASM builds are ~150 kB of the bundle's source.
    define: { ...RELEASE_DEFINE, esbuildDetection: 'true' },
    // Stack traces from the field should still point at our sources' names.
    keepNames: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [seaPlugin(opts.repo)],
  });
  const output = Object.values(result.metafile.outputs)[0];
  // Dynamic imports esbuild could not bundle stay import() calls at run time.
  const dynamicImports = Object.values(result.metafile.inputs)
    .flatMap((i) => i.imports).filter((i) => i.kind === 'dynamic-import' && i.external).length;
  return { outfile: opts.outfile, bytes: output?.bytes ?? 0, dynamicImports, packages: bundledPackages(Object.keys(result.metafile.inputs)), metafile: result.metafile };
}

/** The npm package folders (relative to the repo) that esbuild's inputs came from: the .deb's copyright lists them. */
export function bundledPackages(inputs: string[]): string[] {
  const dirs = new Set<string>();
  for (const i of inputs) {
    const m = i.replace(/\\/g, '/').match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
    if (m) dirs.add(m[1]!);
  }
  return [...dirs].sort();
}
