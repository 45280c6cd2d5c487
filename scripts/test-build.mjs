// `node --import ./scripts/test-build.mjs …`: `shardedmap`,
// `shardedmap/internals` and `shardedmap/redis` resolve to the test build
// (see test-build-hooks.mjs). vitest passes it to the test forks in
// execArgv; their worker_threads and forks inherit it.
import { register } from 'node:module';

register('./test-build-hooks.mjs', import.meta.url);
