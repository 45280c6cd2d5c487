// The debug ring (debugRing option): per shard, the last operations of
// every instance, in shared memory, for post-mortems (map.debug()).
//
// Contract: a ring is a head counter (RING_HEAD_BYTES) then `entries`
// records (shared.ts: RING_*). A writer takes a sequence number with one
// atomic add and writes its record, the sequence number last; records are
// written concurrently and may be read torn (the facade says so). Written
// only by the *Logged exports, which the facade swaps in at construction:
// when the ring is off, nothing here runs.

import { HDR_DEBUG_ENTRIES, HDR_DEBUG_RINGS, HDR_SEED, align64, shardIndexOfHash } from "./layout";
import {
  RING_RECORD_BYTES, RING_OP_OWNER, RING_HASH, RING_RESULT, RING_SEQ, RING_OWNER_SHIFT, SCRATCH_KEY,
} from "./shared";
import { hashKey } from "./hash";

const RING_HEAD_BYTES: u32 = 16;

/** Bytes of one shard's ring of `entries` records (0: off). */
// @ts-ignore: decorator
@inline export function ringBytes(entries: u32): u64 {
  return entries == 0 ? 0 : align64(<u64>RING_HEAD_BYTES + <u64>entries * RING_RECORD_BYTES);
}

/** Address of shard `shard`'s ring. */
// @ts-ignore: decorator
@inline function ringAt(hdr: usize, shard: u32): usize {
  return <usize>load<u32>(hdr, HDR_DEBUG_RINGS) + <usize>shard * <usize>ringBytes(load<u32>(hdr, HDR_DEBUG_ENTRIES));
}

/** Address of record number `seq` (1-based, ever increasing) of a ring of
 *  `n` entries (a power of two). */
// @ts-ignore: decorator
@inline function recordAt(ring: usize, seq: u32, n: u32): usize {
  return ring + RING_HEAD_BYTES + <usize>((seq - 1) & (n - 1)) * RING_RECORD_BYTES;
}

/** Append (op, owner id, hash, result) to shard `shard`'s ring. */
export function logOp(hdr: usize, shard: u32, op: u32, id: u32, hash: u32, result: i32): void {
  const n = load<u32>(hdr, HDR_DEBUG_ENTRIES);
  if (n == 0) return;
  const ring = ringAt(hdr, shard);
  const seq = atomic.add<u32>(ring, 1) + 1;
  const e = recordAt(ring, seq, n);
  store<u32>(e, op | (id << RING_OWNER_SHIFT), RING_OP_OWNER);
  store<u32>(e, hash, RING_HASH);
  store<i32>(e, result, RING_RESULT);
  atomic.store<u32>(e, seq, RING_SEQ);
}

/** Log operation `op` of owner id `id` on the key in its scratch (klen
 *  checked by the caller), with its result, to the key's shard's ring. */
export function logKey(hdr: usize, scratch: usize, id: u32, klen: u32, op: u32, result: i32): void {
  const h = hashKey(scratch + SCRATCH_KEY, klen, load<u64>(hdr, HDR_SEED));
  logOp(hdr, shardIndexOfHash(hdr, h), op, id, <u32>h, result);
}

/** Copy record `i` (0 = oldest kept) of shard `shard`'s ring to `out`.
 *  Returns how many records the ring holds now (i beyond it: nothing
 *  copied). */
export function readRecord(hdr: usize, shard: u32, i: u32, out: usize): u32 {
  const n = load<u32>(hdr, HDR_DEBUG_ENTRIES);
  const ring = ringAt(hdr, shard);
  const head = atomic.load<u32>(ring);
  const held = min(head, n);
  if (i < held) memory.copy(out, recordAt(ring, head - held + i + 1, n), RING_RECORD_BYTES);
  return held;
}
