// Module resolution hooks that point the package's own entries at the test
// build (dist/test/: the core with its test doors and assertions, and
// `shardedmap/internals`), for code run by Node rather than by vite: the
// worker_threads and child processes the tests start, and bench/micro.mjs.
// Registered by scripts/test-build.mjs (`node --import ./scripts/test-build.mjs`);
// vitest.config.ts maps the same specifiers (TEST_BUILD) with resolve.alias.
// The published package has no door to the test build: neither an export
// condition nor an `./internals` export.

/** Package specifier → file of the test build, relative to the project root. */
export const TEST_BUILD = {
  shardedmap: 'dist/test/index.js',
  'shardedmap/internals': 'dist/test/internals.js',
  'shardedmap/redis': 'dist/test/redis.js',
};

const root = new URL('../', import.meta.url);

/** The resolve hook, synchronous so that it serves both `module.register`
 *  (off-thread, async-capable) and `module.registerHooks` (in-thread). */
export function resolve(specifier, context, nextResolve) {
  const file = Object.hasOwn(TEST_BUILD, specifier) ? TEST_BUILD[specifier] : undefined;
  if (file === undefined) return nextResolve(specifier, context);
  return { url: new URL(file, root).href, format: 'module', shortCircuit: true };
}
