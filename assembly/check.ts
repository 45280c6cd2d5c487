// Consistency checks: what must hold of a shard and of the allocator when
// no write is in flight. The caller holds the lock of what it checks (the
// shard lock for checkShardLocked, the allocator lock and every shard lock
// for checkAllocatorLocked), so everything here reads a quiet, sound state
// and writes nothing. Used by map.check() (a user's health check after a
// fault, and the tests after every recovery) and, in the debug build, as
// assertions after every rebuild and in-place compaction.
//
// Each rule has a number (CHECK_* in shared.ts) that the facade names.
//
// Rank: the rules read only the table primitives (table.ts), the
// allocator's block format and the policy's queues, never the code that
// changes a shard, so this file sits below the reader, writer and resize
// (overview.ts: "How this core is organized") and resize's DEBUG
// assertions call down into it.

import {
  SH_COUNT, SH_USED, SH_HEAP_TOP, SH_HEAP_END, SH_REGION, SH_REGION_BYTES, SH_DEAD,
  SH_PENDING, SH_PENDING_BYTES, SH_RETIRED, SH_RETIRED_BYTES, HDR_SEED, SH_LIVE_BYTES, SH_SMALL_COUNT,
  SH_CAP_ENTRIES, SH_CAP_BYTES, SH_RING_CAP, SH_SMALL_HEAD, SH_SMALL_LEN, SH_MAIN_HEAD, SH_MAIN_LEN, E_WORD,
  HDR_ALLOC_LOCK, HDR_ALLOC_TOP, HDR_FREE_HEAD, HDR_FREE_BYTES, HDR_MAX_OWNERS, HDR_SCRATCH_BYTES, HDR_ALLOC_BASE,
  OWN_SCRATCH, CELL_BYTES, E_KLEN, E_KEY, tableBytes, entryBytesAt, align64, shardAt, shardCountOf,
  ownerSlot,
} from "./layout";
import {
  CHECK_OK, CHECK_SEQ_ODD, CHECK_TABLE_REGION, CHECK_HEAP_BOUNDS, CHECK_ENTRY_OUTSIDE_HEAP,
  CHECK_HEAP_PARSE, CHECK_DEAD_BYTES, CHECK_LIVE_COUNT, CHECK_USED_COUNT, CHECK_INLINE_SIZE,
  CHECK_KEY_UNREACHABLE, CHECK_STAGED, CHECK_PENDING, CHECK_FREE_ORDER, CHECK_FREE_ADJACENT,
  CHECK_FREE_BYTES, CHECK_FREE_AT_TOP, CHECK_OVERLAP, CHECK_OUTSIDE_HEAP_AREA, CHECK_CACHE_COUNTS,
  CHECK_CACHE_BOUND, CHECK_CACHE_QUEUE, SCRATCH_WORD,
} from "./shared";
import { CTRL_DELETED, countByte } from "./ctrl";
import { hashKey } from "./hash";
import { seqRead, seqChanging, tableLoad, tryLock, unlock, busy } from "./sync";
import { tableCtrl, tableGroupCount, inMain } from "./words";
import { find, memBytes, refEntry, isOutline, heapStartOf, stageOf, firstFull, nextFullAfter } from "./table";
import { FB_SIZE, FB_NEXT } from "./alloc";
import { cacheOn, entryKv, locate, ringOf } from "./policy";

/** The rules of one shard, in this order; the first broken one is
 *  returned (CHECK_OK if none). */
export function checkShardLocked(hdr: usize, sh: usize): u32 {
  if (seqChanging(seqRead(sh))) return CHECK_SEQ_ODD;
  const t = tableLoad(sh);
  const region = load<u32>(sh, SH_REGION);
  const regionEnd = <u64>region + load<u32>(sh, SH_REGION_BYTES);
  if (tableCtrl(t) != region || <u64>region + tableBytes(tableGroupCount(t)) > regionEnd) return CHECK_TABLE_REGION;
  if (load<u32>(sh, SH_PENDING) != 0) return CHECK_PENDING;
  const heapStart = heapStartOf(t);
  const top = load<u32>(sh, SH_HEAP_TOP);
  if (top < heapStart || <u64>load<u32>(sh, SH_HEAP_END) != regionEnd || <u64>top > regionEnd) return CHECK_HEAP_BOUNDS;
  const seed = load<u64>(hdr, HDR_SEED);
  const mem = memBytes(hdr);
  const stage = stageOf(t);
  let live: u32 = 0;
  let count: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    count++;
    const e = refEntry(r);
    const klen = <u32>load<u16>(e, E_KLEN);
    const size = entryBytesAt(e);
    if (isOutline(r)) {
      if (e == stage) return CHECK_STAGED;
      if (e < heapStart || <u64>e + size > <u64>top) return CHECK_ENTRY_OUTSIDE_HEAP;
      live += size;
    } else if (size > CELL_BYTES) {
      return CHECK_INLINE_SIZE;
    }
    // Every key is where a lookup finds it (probe chains unbroken, no
    // duplicate before it).
    const key = <usize>e + E_KEY;
    if (find(t, hashKey(key, klen, seed), key, klen, mem) != r) return CHECK_KEY_UNREACHABLE;
  }
  let e = heapStart;
  while (e < top) e += entryBytesAt(e);
  if (e != top) return CHECK_HEAP_PARSE;
  if (load<u32>(sh, SH_DEAD) != top - heapStart - live) return CHECK_DEAD_BYTES;
  if (load<u32>(sh, SH_COUNT) != count) return CHECK_LIVE_COUNT;
  if (load<u32>(sh, SH_USED) != count + countByte(tableCtrl(t), tableGroupCount(t), CTRL_DELETED)) return CHECK_USED_COUNT;
  return cacheOn(hdr) ? checkCacheShard(hdr, sh) : CHECK_OK;
}

/** The cache rules of a shard (see checkShardLocked): counts right, within
 *  its budgets, as many queue items naming live entries of their own queue
 *  as live entries. CHECK_OK or the broken rule. */
export function checkCacheShard(hdr: usize, sh: usize): u32 {
  const t = tableLoad(sh);
  let bytes: u32 = 0;
  let small: u32 = 0;
  let live: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    const e = refEntry(r);
    live++;
    bytes += entryKv(e);
    if (!inMain(load<u32>(e, E_WORD))) small++;
  }
  if (bytes != load<u32>(sh, SH_LIVE_BYTES) || small != load<u32>(sh, SH_SMALL_COUNT)) return CHECK_CACHE_COUNTS;
  const capE = load<u32>(sh, SH_CAP_ENTRIES);
  const capB = load<u32>(sh, SH_CAP_BYTES);
  if ((capE != 0 && live > capE) || (capB != 0 && bytes > capB)) return CHECK_CACHE_BOUND;
  if (load<u32>(sh, SH_RING_CAP) == 0) return CHECK_OK;
  // Every live entry is named by one item of its own queue.
  const seed = load<u64>(hdr, HDR_SEED);
  let named: u32 = 0;
  for (let q = 0; q < 2; q++) {
    const main = q == 1;
    const ring = ringOf(sh, main);
    const cap = load<u32>(sh, SH_RING_CAP);
    const head = load<u32>(sh + (main ? SH_MAIN_HEAD : SH_SMALL_HEAD));
    const len = load<u32>(sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN));
    if (head >= cap || len > cap) return CHECK_CACHE_QUEUE;
    for (let k: u32 = 0; k < len; k++) {
      let i = head + k;
      if (i >= cap) i -= cap;
      const ref = locate(t, load<u64>(ring + (<usize>i << 3)), seed);
      if (ref != 0 && inMain(load<u32>(refEntry(ref), E_WORD)) == main) named++;
    }
  }
  // (A key stored again before its old item came round is named twice.)
  return named >= live ? CHECK_OK : CHECK_CACHE_QUEUE;
}

// ---- the allocator ------------------------------------------------------------

/** Do [a, a + an) and [b, b + bn) overlap? */
// @ts-ignore: decorator
@inline function overlaps(a: u64, an: u64, b: u64, bn: u64): bool {
  return an != 0 && bn != 0 && a < b + bn && b < a + an;
}

/** Regions in use, numbered 0..regionCount-1: per shard its region, its
 *  pending and its retired region (size 0 when there is none), then every
 *  owner's scratch area. */
// @ts-ignore: decorator
@inline function regionCount(hdr: usize): u32 {
  return shardCountOf(hdr) * 3 + load<u32>(hdr, HDR_MAX_OWNERS);
}

/** Address and size of region in use number i, packed as addr | size << 32
 *  (0 if there is none). */
function regionAt(hdr: usize, i: u32): u64 {
  const shardRegions = shardCountOf(hdr) * 3;
  if (i < shardRegions) {
    const sh = shardAt(hdr, i / 3);
    const k = i % 3;
    const a = load<u32>(sh + (k == 0 ? SH_REGION : k == 1 ? SH_PENDING : SH_RETIRED));
    const n = load<u32>(sh + (k == 0 ? SH_REGION_BYTES : k == 1 ? SH_PENDING_BYTES : SH_RETIRED_BYTES));
    return a == 0 ? 0 : <u64>a | (align64(<u64>n) << 32);
  }
  const a = load<u32>(ownerSlot(hdr, i - shardRegions + 1), OWN_SCRATCH);
  return a == 0 ? 0 : <u64>a | (align64(<u64>load<u32>(hdr, HDR_SCRATCH_BYTES)) << 32);
}

/** The allocator's rules: the free list is increasing, coalesced, inside
 *  [base, top), counted right, and no block on it overlaps a region in
 *  use; no two regions in use overlap, and all lie inside [base, top).
 *  Returns a CHECK_* code; `leakOut` gets the bytes neither free nor in
 *  use (a stop can leak a region: not an error). O(regions^2): a
 *  diagnostic, not a hot path. */
function checkAllocatorLocked(hdr: usize, leakOut: usize): u32 {
  const base = <u64>load<u32>(hdr, HDR_ALLOC_BASE);
  const top = <u64>load<u32>(hdr, HDR_ALLOC_TOP);
  const n = regionCount(hdr);
  let free: u64 = 0;
  let prevEnd: u64 = 0;
  let cur = load<u32>(hdr, HDR_FREE_HEAD);
  while (cur != 0) {
    const size = <u64>load<u32>(cur, FB_SIZE);
    if (<u64>cur < base || <u64>cur < prevEnd || size == 0 || <u64>cur + size > top) return CHECK_FREE_ORDER;
    if (<u64>cur == prevEnd) return CHECK_FREE_ADJACENT;
    for (let i: u32 = 0; i < n; i++) {
      const r = regionAt(hdr, i);
      if (overlaps(<u64>cur, size, r & 0xffffffff, r >>> 32)) return CHECK_OVERLAP;
    }
    free += size;
    prevEnd = <u64>cur + size;
    const next = load<u32>(cur, FB_NEXT);
    if (next == 0 && prevEnd == top) return CHECK_FREE_AT_TOP;
    cur = next;
  }
  if (free != <u64>load<u32>(hdr, HDR_FREE_BYTES)) return CHECK_FREE_BYTES;
  let used: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const r = regionAt(hdr, i);
    const a = r & 0xffffffff;
    const an = r >>> 32;
    if (an == 0) continue;
    if (a < base || a + an > top) return CHECK_OUTSIDE_HEAP_AREA;
    for (let j = i + 1; j < n; j++) {
      const q = regionAt(hdr, j);
      if (overlaps(a, an, q & 0xffffffff, q >>> 32)) return CHECK_OVERLAP;
    }
    used += an;
  }
  store<u32>(leakOut, <u32>(top - base - free - used));
  return CHECK_OK;
}

/** checkAllocatorLocked under the allocator lock, taken here by owner id
 *  `id` (who holds every shard lock), the leaked bytes to the scratch's
 *  SCRATCH_WORD: a CHECK_* code, or ST_BUSY with the lock's word. */
export function checkAllocatorUnderLock(hdr: usize, scratch: usize, id: u32): i32 {
  const lock = hdr + HDR_ALLOC_LOCK;
  if (!tryLock(lock, id)) return busy(scratch, lock);
  const r = checkAllocatorLocked(hdr, scratch + SCRATCH_WORD);
  unlock(lock);
  return <i32>r;
}
