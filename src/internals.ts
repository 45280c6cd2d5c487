/**
 * TEST ONLY: a door to one instance's internals, for tests that must reach
 * past the public API (the torn-read detector's control, layout checks).
 * Not part of the API; may change in any release.
 */
export { internalsOf } from './map';
export type { Internals } from './map';
