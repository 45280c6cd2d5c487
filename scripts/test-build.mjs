// `node --import ./scripts/test-build.mjs …`: `shardedmap`,
// `shardedmap/internals` and `shardedmap/redis` resolve to the test build
// (see test-build-hooks.mjs). vitest passes it to the test forks in
// execArgv; their worker_threads and forks inherit it.
//
// Where Node has `module.registerHooks` (22.15+, 23.5+) the hook runs in
// this thread for `import` and `require` alike. On Node 20, `module.register`
// hooks see `import` only, not `require()` of an ES module (which Node
// 20.19+ does): piscina loads a task file with `require` first, so there
// vitest.config.ts also passes --no-experimental-require-module (piscina
// then falls back to `import()`, which the hook sees).
import module from 'node:module';
import { resolve } from './test-build-hooks.mjs';

if (typeof module.registerHooks === 'function') module.registerHooks({ resolve });
else module.register('./test-build-hooks.mjs', import.meta.url);
