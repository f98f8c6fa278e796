// DEVLIC_RELEASE_BUILD is `true` in the release executables (esbuild's
// `define` in installer/build/bundle.ts) and not declared at all in source
// runs (node agent/main.ts, the tests). Code that must not ship - the test
// hooks in clock.ts and identity.ts - sits inside
// `if (typeof DEVLIC_RELEASE_BUILD === 'undefined') { ... }`, which the
// bundler folds to `if (false)` and drops with everything only it uses,
// names included. Test it with `typeof`: a plain read would throw in source runs.
declare const DEVLIC_RELEASE_BUILD: true | undefined;
