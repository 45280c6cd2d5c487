import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { TEST_BUILD } from './scripts/test-build-hooks.mjs';

// The tests use the test build (dist/test/: the core with its test doors
// and assertions, and `shardedmap/internals`), which the published package
// does not ship nor point to. Two resolvers reach it:
// - vite's (test files and what they import): resolve.alias, below;
// - Node's (the test files run in forks; the worker_threads and child
//   processes they start import `shardedmap` by name): the resolve hook of
//   scripts/test-build.mjs, passed with `--import` in execArgv, which
//   workers and forks inherit.
// Both from one list, TEST_BUILD. Examples run by users get the release
// build (package.json "exports").
// Node 20's off-thread hooks do not see `require()` of ES modules (see
// scripts/test-build.mjs): there, turn that off, so that piscina imports.
const requireEsmUnhooked = typeof (module as { registerHooks?: unknown }).registerHooks !== 'function'
  && (process.features as { require_module?: boolean }).require_module === true;
const alias = Object.entries(TEST_BUILD).map(([specifier, file]) => ({
  find: new RegExp(`^${specifier.replace('/', '\\/')}$`),
  replacement: fileURLToPath(new URL(file, import.meta.url)),
}));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    execArgv: [
      ...(requireEsmUnhooked ? ['--no-experimental-require-module'] : []),
      '--import', fileURLToPath(new URL('./scripts/test-build.mjs', import.meta.url)),
    ],
    // Concurrency tests start their own worker_threads; on 2 cores, two
    // test files at a time is what the machine holds without starving them.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
