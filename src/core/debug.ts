/**
 * Decoding the debug ring (the `debugRing` option) into what `map.debug()`
 * returns: names for the op and status codes of assembly/shared.ts.
 */
import {
  ST_NOT_FOUND, ST_BUSY, ST_FULL, ST_MISMATCH, ST_BAD_ARG, OP_STORE, OP_LOAD_OR_STORE, OP_SWAP, OP_CAS,
  OP_DELETE, OP_LOAD_AND_DELETE, OP_CAD, LOG_LOAD, LOG_HAS, LOG_LOAD_NUMBER, SCRATCH_DEBUG, RING_OP_OWNER,
  RING_HASH, RING_RESULT, RING_SEQ, RING_OWNER_SHIFT, RING_OP_MASK,
} from '../../assembly/shared.js';
import type { CoreExports } from './core.js';

/** One recorded operation of the debug ring (see `debug()`). */
export interface DebugEntry {
  /** Position in the shard's history (1 = first operation ever). */
  seq: number;
  /** 'store', 'delete', 'load', ... */
  op: string;
  /** Owner id of the instance that made the call. */
  owner: number;
  /** Low 32 bits of the key's hash. */
  keyHash: number;
  /** What the core returned: a status name, 0, or a value's word. */
  result: number | string;
}

/** The debug ring of one shard. */
export interface DebugShard {
  shard: number;
  entries: DebugEntry[];
}

const OP_NAMES: Record<number, string> = {
  [OP_STORE]: 'store', [OP_LOAD_OR_STORE]: 'loadOrStore', [OP_SWAP]: 'swap', [OP_CAS]: 'compareAndSwap',
  [OP_DELETE]: 'delete', [OP_LOAD_AND_DELETE]: 'loadAndDelete', [OP_CAD]: 'compareAndDelete',
  [LOG_LOAD]: 'load', [LOG_HAS]: 'has', [LOG_LOAD_NUMBER]: 'loadNumber',
};
const STATUS_NAMES: Record<number, string> = {
  [ST_NOT_FOUND]: 'NOT_FOUND', [ST_BUSY]: 'BUSY', [ST_FULL]: 'FULL', [ST_MISMATCH]: 'MISMATCH',
  [ST_BAD_ARG]: 'BAD_ARG',
};

/** Every shard's ring, oldest record first, read through the core into the
 *  scratch area at `scratch` (a view `i32` of the memory). */
export function readRings(x: CoreExports, token: number, i32: Int32Array, scratch: number): DebugShard[] {
  const out: DebugShard[] = [];
  if (x.debugEntries() === 0) return out;
  const rec = scratch + SCRATCH_DEBUG;
  const word = (offset: number) => i32[(rec + offset) >>> 2]!;
  const n = x.shardCount();
  for (let s = 0; s < n; s++) {
    const entries: DebugEntry[] = [];
    const held = x.debugRead(token, s, 0);
    for (let i = 0; i < held; i++) {
      x.debugRead(token, s, i);
      const opOwner = word(RING_OP_OWNER);
      const op = opOwner & RING_OP_MASK;
      const result = word(RING_RESULT);
      entries.push({
        seq: word(RING_SEQ) >>> 0,
        op: OP_NAMES[op] ?? `op ${op}`,
        owner: opOwner >>> RING_OWNER_SHIFT,
        keyHash: word(RING_HASH) >>> 0,
        result: result >= 0 ? result : (STATUS_NAMES[result] ?? String(result)),
      });
    }
    if (entries.length) out.push({ shard: s, entries });
  }
  return out;
}
