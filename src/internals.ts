/**
 * TEST ONLY: a door to one instance's internals, for tests that must reach
 * past the public API (the torn-read detector's control, fault injection,
 * layout measurements). Built into the test bundle alone (dist/test/,
 * which the tests reach by vitest's resolve.alias and the Node hook of
 * scripts/test-build.mjs); the package neither ships nor exports it.
 */
export { internalsOf } from './map/map.js';
export type { Internals } from './map/map.js';
/** The codes shared with the core (assembly/shared.ts), for test workers
 *  written in plain JavaScript. */
export * as codes from '../assembly/shared.js';
/** The core's export list with arities (core/core.ts), for the test that
 *  checks it against the Wasm binaries. */
export { CORE_ARITY, GUARDED } from './core/core.js';
/** Where the codec's last msgpackr pack put its bytes (codec/msgpack.ts),
 *  for the test that compares the map's own record writer with it. */
export { packed } from './codec/msgpack.js';
export { NOT_WRITTEN } from './codec/shapes.js';
/** The read memo's window and pause (core/memo.ts), for the test of a
 *  pause's end. */
export { MEMO_WINDOW, MEMO_PAUSE } from './core/memo.js';
