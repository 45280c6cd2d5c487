// Compile-time switches of the three builds (asconfig.json targets):
//   release  neither: what the package ships
//   test     TEST and DEBUG: the tests' core (test doors, assertions)
//   debug    DEBUG: assertions, unoptimized
// Each is set with `--use NAME=1`; code under `if (TEST)` or `if (DEBUG)`
// is removed from a build without it.

/** The test build: the fault door read by every write, and the test
 *  exports of test.ts. */
// @ts-ignore: decorator, compile-time builtin
@lazy export const TEST: bool = isDefined(SHARDEDMAP_TEST);

/** Internal invariants asserted where they must hold (tlsf's style:
 *  `if (DEBUG) assert(...)`), e.g. a shard checks sound after every rebuild
 *  and in-place compaction. */
// @ts-ignore: decorator, compile-time builtin
@lazy export const DEBUG: bool = isDefined(SHARDEDMAP_DEBUG);
