/**
 * TEST ONLY: a door to one instance's internals, for tests that must reach
 * past the public API (the torn-read detector's control, fault injection,
 * layout measurements). Built into the test bundle alone (dist/test/,
 * reached through the `shardedmap:test` export condition); the release
 * bundle has no such door.
 */
export { internalsOf } from './map/map.js';
export type { Internals } from './map/map.js';
/** The codes shared with the core (assembly/shared.ts), for test workers
 *  written in plain JavaScript. */
export * as codes from '../assembly/shared.js';
/** The core's export list with arities (core/core.ts), for the test that
 *  checks it against the Wasm binaries. */
export { CORE_ARITY, GUARDED } from './core/core.js';
