// Bundles the facade (src/) with the Wasm core inlined as bytes, so one file
// works in Node and in browsers with no fetch and no fs; then emits .d.ts.
//   dist/index.js, dist/browser.js, dist/shared-worker.js: the release
//     builds (build/core.wasm; code in `TEST_ONLY:` blocks removed)
//   dist/test/: the tests' build (build/core.test.wasm: test doors and
//     assertions; internals.js), not part of the published package and not
//     named by its package.json: the tests reach it by resolve.alias
//     (vitest.config.ts) and a Node resolve hook (scripts/test-build.mjs).
// Source maps only for the test build: the release bundles are unminified
// ESM with their names (a stack trace reads as the source does), and their
// maps were 1.1 MB of the package's 1.9 MB.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const testCore = fileURLToPath(new URL('../build/core.test.wasm', import.meta.url));
/** Resolve the core's bytes to the test build of the core. */
const useTestCore = {
  name: 'test-core',
  setup(b) {
    b.onResolve({ filter: /\/build\/core\.wasm$/ }, () => ({ path: testCore }));
  },
};

// Node built-ins that snapshot/restore (src/core/snapshot.ts) import
// dynamically, when called: left as imports in every bundle (in a browser
// those calls reject with a typed error; nothing else loads them).
const nodeOnly = ['node:fs/promises', 'node:zlib'];

const node = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external: ['msgpackr', 'prom-client', '@redis/client', 'keyv', ...nodeOnly],
  loader: { '.wasm': 'binary' },
  logLevel: 'warning',
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
// The optional integrations share the map's code with the main entry (one
// ShardedMap class, one copy of the core), through a chunk.
await build({
  ...node,
  entryPoints: ['src/index.ts', 'src/prometheus.ts', 'src/redis.ts', 'src/keyv.ts'],
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  dropLabels: ['TEST_ONLY'],
});
await build({
  ...node,
  entryPoints: ['src/index.ts', 'src/internals.ts', 'src/redis.ts'],
  outdir: 'dist/test',
  sourcemap: true,
  splitting: true,
  chunkNames: 'chunks/[name]',
  plugins: [useTestCore],
});
// Browsers: everything bundled (msgpackr too), the map and the SharedWorker
// cache's worker script.
await build({
  entryPoints: { browser: 'src/index.ts', 'shared-worker': 'src/shared-worker.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  external: nodeOnly,
  loader: { '.wasm': 'binary' },
  dropLabels: ['TEST_ONLY'],
  logLevel: 'warning',
});
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
