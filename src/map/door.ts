/** TEST ONLY: the type of the test bundle's door into an instance
 *  (map.ts's `internalsOf`, re-exported by src/internals.ts). */
import type { CoreExports, TestDoors } from '../core/core.js';
import type { Key } from '../codec/codec.js';
import type { RecordCodec } from '../codec/records.js';

/** TEST ONLY (the test bundle): what `internalsOf` exposes (src/internals.ts). */
export interface Internals {
  /** The test build of the core, as instantiated (unguarded): every export
   *  plus its test doors. */
  core: CoreExports & TestDoors;
  /** This instance's owner token (what the core's exports take). */
  token: number;
  /** Encode a key into the scratch area; returns its length. */
  encodeKey(key: Key): number;
  /** Make this instance's next write fail inside the core while it holds
   *  the shard lock: an AS abort or a Wasm trap on taking it, or ('staged')
   *  a trap in the middle of rewriting an inline entry, after the switch to
   *  the staging cell. */
  failNextWrite(kind: 'abort' | 'trap' | 'staged'): void;
  /** This instance's record codec (its view of the map's shared shapes). */
  records: RecordCodec;
  /** Loads this instance's read memo answered (0 while it is off). */
  memoHits(): number;
  /** Keys its read memo holds now. */
  memoKeys(): number;
}
