import { defineConfig } from 'vitest/config';

// The tests use the test build (dist/test/: the core with its test doors
// and assertions) through the `shardedmap:test` export condition: vitest's
// own resolution gets it from `resolve.conditions`, and Node's (the test
// files run in forks; their worker_threads inherit execArgv) from
// `--conditions`.
const TEST_CONDITION = 'shardedmap:test';

export default defineConfig({
  resolve: { conditions: [TEST_CONDITION, 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: [TEST_CONDITION, 'node', 'import', 'default'], externalConditions: [TEST_CONDITION] } },
  test: {
    include: ['test/**/*.test.ts'],
    execArgv: [`--conditions=${TEST_CONDITION}`],
    // Concurrency tests start their own worker_threads; on 2 cores, two
    // test files at a time is what the machine holds without starving them.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
