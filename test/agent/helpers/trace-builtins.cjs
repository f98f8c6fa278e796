// Preloaded (`node -r`) into a run of the esbuild bundle of the agent by
// test/agent/lazy-load.test.ts: prints, on exit, the Node built-in modules the
// process loaded (a bundle has no npm package files left to watch, but what
// the bundled libraries require from Node shows which of them ran).
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  require('node:fs').writeSync(2, `\nBUILTINS ${JSON.stringify(builtins)}\n`);
});
