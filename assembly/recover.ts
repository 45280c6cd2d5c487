// Recovery: repairing what a writer left when it stopped at an arbitrary
// instruction (a terminated worker, a trap, an abort).
//
// Contract: the caller holds the lock of what it repairs, taken over from
// the stopped writer, so nobody else changes it; what it reads may be in
// any state a stop can leave (Overview in overview.ts: "Crash consistency"):
// the shard itself is always readable, and what needs repair is an odd
// seq, counters, the heap top, a cell left pointing at the staging cell, a
// half-compacted heap, a region being built or retired, and the
// allocator's counters. Every repair is idempotent.
//
// Also here: the steps of recovering a dead owner (or this owner after a
// fault) that the recover* exports call one at a time: take its locks
// over, repair what it held, free its slot, recount the map.

import {
  HDR_COUNT, HDR_ALLOC_LOCK, HDR_ALLOC_BASE, HDR_FLIGHTS, SH_LOCK, SH_LIVE_BYTES, SH_SMALL_COUNT, SH_RING_CAP,
  SH_SMALL_LEN, SH_MAIN_LEN, E_WORD, shardAt, shardCountOf, SH_COUNT, SH_USED, SH_HEAP_TOP, SH_HEAP_END, SH_REGION, SH_REGION_BYTES, SH_DEAD,
  SH_PENDING, SH_PENDING_BYTES, SH_RETIRED, SH_RETIRED_BYTES,
  HDR_ALLOC_TOP, HDR_FREE_HEAD, HDR_FREE_BYTES, HDR_SEED,
  CELL_ADDR, E_KLEN, E_KEY, MIN_ENTRY_BYTES, entryBytesAt,
} from "./layout";
import { ST_OK } from "./shared";
import { CTRL_DELETED, countByte, tagOf } from "./ctrl";
import { hashKey } from "./hash";
import {
  seqRead, seqChanging, seqBegin, seqEnd, seqRetire, tableLoad, epochNext, tryLock, takeOver, unlock, holder, holds,
  stripesBumpAll,
  busy,
} from "./sync";
import { tableCtrl, tableGroupCount, inMain, queueItem } from "./words";
import {
  find, memBytes, writeFiller, isOutline, refEntry, heapStartOf, stageOf, firstFull, nextFullAfter,
} from "./table";
import { freeRegionWaiting, FB_SIZE, FB_NEXT } from "./alloc";
import { freeDeadOwner } from "./owners";
import { flightLock, flightNudge } from "./flights";
import { cacheOn, cleared, entryKv, ringOf } from "./policy";
import { moveInline } from "./writer";

/** Repair a shard whose lock the caller now holds, after its previous
 *  holder (owner id `id` is the caller's) stopped anywhere. */
export function repairShard(hdr: usize, sh: usize, id: u32): void {
  // A write stopped in its bracket may have changed a value without bumping
  // its write stripe: every stripe, before the seq is even again.
  if (seqChanging(seqRead(sh))) {
    stripesBumpAll(sh);
    seqEnd(sh);
  }
  const t = tableLoad(sh);
  const ctrl = tableCtrl(t);
  // A region being built: live if it was published (then the bookkeeping
  // after the publish is redone here), garbage if not.
  const pending = load<u32>(sh, SH_PENDING);
  if (pending != 0) {
    if (pending == ctrl) {
      store<u32>(sh, pending, SH_REGION);
      store<u32>(sh, load<u32>(sh, SH_PENDING_BYTES), SH_REGION_BYTES);
      store<u32>(sh, 0, SH_PENDING);
    } else {
      freeRegionWaiting(hdr, id, sh + SH_PENDING, load<u32>(sh, SH_PENDING_BYTES));
    }
  }
  // A retired region: free unless it is, after all, the live one (the
  // writer stopped between recording it and publishing the new table).
  const retired = load<u32>(sh, SH_RETIRED);
  if (retired != 0) {
    if (retired != ctrl) freeRegionWaiting(hdr, id, sh + SH_RETIRED, load<u32>(sh, SH_RETIRED_BYTES));
    else store<u32>(sh, 0, SH_RETIRED);
  }
  // Recount from the control bytes and entries, finishing on the way a
  // move into a cell that a stop left pointing at the staging cell.
  const stage = stageOf(t);
  const heapStart = heapStartOf(t);
  let count: u32 = 0;
  const used = countByte(ctrl, tableGroupCount(t), CTRL_DELETED);
  let top = heapStart;
  let live: u32 = 0;
  seqBegin(sh);
  epochNext(hdr, sh);
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    count++;
    if (!isOutline(r)) continue;
    const e = refEntry(r);
    const size = entryBytesAt(e);
    if (e == stage) {
      moveInline(r, stage, size);
      continue;
    }
    if (e + size > top) top = e + size;
    live += size;
  }
  // A stop in the middle of an in-place compaction leaves bytes between the
  // entries it moved and those it had not reached that do not parse as
  // entries (a moved entry ends in the middle of an old one), and the next
  // compaction walks the heap entry by entry: make it parse again.
  fillHeapGaps(hdr, t, top);
  seqEnd(sh);
  store<u32>(sh, count, SH_COUNT);
  store<u32>(sh, used + count, SH_USED);
  store<u32>(sh, top, SH_HEAP_TOP);
  store<u32>(sh, load<u32>(sh, SH_REGION) + load<u32>(sh, SH_REGION_BYTES), SH_HEAP_END);
  store<u32>(sh, top - heapStart - live, SH_DEAD);
  // A cache shard's counts and queues may be anywhere between two steps:
  // recount them, and queue every entry again.
  if (cacheOn(hdr)) rebuildQueues(hdr, sh);
  // Heap bytes above the new top may be reused now: readers still in them
  // must retry.
  seqRetire(sh);
}

/** Is the entry at `e` (in the heap of table `t`, below `top`) the live
 *  entry of its key, i.e. does its key's cell point at it? Safe on garbage
 *  at `e`: its lengths are checked against `top` first. */
function isLiveAt(hdr: usize, t: u64, e: u32, top: u32): bool {
  const klen = <u32>load<u16>(e, E_KLEN);
  if (klen == 0 || <u64>e + entryBytesAt(e) > <u64>top) return false;
  const key = <usize>e + E_KEY;
  const ref = find(t, hashKey(key, klen, load<u64>(hdr, HDR_SEED)), key, klen, memBytes(hdr));
  return ref != 0 && isOutline(ref) && load<u32>(ref, CELL_ADDR) == e;
}

/** Make the heap of `t` parse again: every run of bytes between live
 *  entries becomes one dead filler entry. Live entries are recognized by
 *  their cell pointing at them; O(heap bytes / 8) steps. */
function fillHeapGaps(hdr: usize, t: u64, top: u32): void {
  let e = heapStartOf(t);
  let gap: u32 = 0; // start of the current run of dead bytes, or 0
  while (e < top) {
    if (isLiveAt(hdr, t, e, top)) {
      if (gap != 0) writeFiller(gap, e - gap);
      gap = 0;
      e += entryBytesAt(e);
    } else {
      if (gap == 0) gap = e;
      e += MIN_ENTRY_BYTES;
    }
  }
  if (gap != 0) writeFiller(gap, top - gap);
}

/** Repair the allocator after its lock holder stopped (the caller now
 *  holds the lock): recount the free bytes, and cut the list where it is
 *  not increasing or leaves [base, top) (a stop can leak a block, never
 *  link a wrong one; this is a guard). */
export function repairAllocator(hdr: usize, base: u32): void {
  const top = load<u32>(hdr, HDR_ALLOC_TOP);
  let link: usize = hdr + HDR_FREE_HEAD;
  let cur = load<u32>(link);
  let prev: u32 = base;
  let free: u32 = 0;
  while (cur != 0) {
    const size = load<u32>(cur, FB_SIZE);
    if (cur < prev || cur >= top || size == 0 || <u64>cur + size > <u64>top) {
      store<u32>(link, 0);
      break;
    }
    free += size;
    prev = cur + size;
    link = cur + FB_NEXT;
    cur = load<u32>(cur, FB_NEXT);
  }
  store<u32>(hdr, free, HDR_FREE_BYTES);
}

// ---- a cache shard's counts and queues ---------------------------------------------

/** Recount a cache shard and rebuild its queues from its table (after a
 *  writer stopped anywhere; the caller holds the lock). Entries keep their
 *  queue (main or small) but not their order in it. */
export function rebuildQueues(hdr: usize, sh: usize): void {
  cleared(sh);
  const t = tableLoad(sh);
  const seed = load<u64>(hdr, HDR_SEED);
  const queued = load<u32>(sh, SH_RING_CAP) != 0;
  let bytes: u32 = 0;
  let small: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    const e = refEntry(r);
    bytes += entryKv(e);
    const main = inMain(load<u32>(e, E_WORD));
    if (!main) small++;
    if (!queued) continue;
    const h = hashKey(e + E_KEY, <u32>load<u16>(e, E_KLEN), seed);
    const lenAt = sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN);
    const len = load<u32>(lenAt);
    if (len == load<u32>(sh, SH_RING_CAP)) continue; // over the bound: check() says so
    store<u64>(ringOf(sh, main) + (<usize>len << 3), queueItem(h, tagOf(h)));
    store<u32>(lenAt, len + 1);
  }
  store<u32>(sh, bytes, SH_LIVE_BYTES);
  store<u32>(sh, small, SH_SMALL_COUNT);
}

// ---- recovering an owner, step by step (the recover* exports) ----------------------

/** Take over from owner id `victim` the allocator lock and the flight lock
 *  if it holds them (or, when `victim` is the caller `self` after a fault,
 *  keep them): repair the allocator, then release both. The flight table
 *  needs no repair: its slots are sound at every instruction (flights.ts). */
export function recoverMapLocks(hdr: usize, self: u32, victim: u32): void {
  const word = hdr + HDR_ALLOC_LOCK;
  if (victim == self ? holds(word, victim) : takeOver(word, victim, self)) {
    repairAllocator(hdr, load<u32>(hdr, HDR_ALLOC_BASE));
    unlock(word);
  }
  const fl = flightLock(hdr);
  if (victim == self ? holds(fl, victim) : takeOver(fl, victim, self)) unlock(fl);
}

/** Take shard `sh`'s lock for recovery: over from `victim` if it holds it
 *  (then repair the shard), else the normal way. The caller keeps it until
 *  recoverFinish. ST_OK or ST_BUSY (with the word in `scratch`). */
export function recoverShardLock(hdr: usize, scratch: usize, self: u32, victim: u32, sh: usize): i32 {
  const word = sh + SH_LOCK;
  const h = holder(word);
  if (h == victim) {
    if (victim != self && !takeOver(word, victim, self)) return busy(scratch, word);
    repairShard(hdr, sh, self);
    return ST_OK;
  }
  if (h == self) return ST_OK;
  return tryLock(word, self) ? ST_OK : busy(scratch, word);
}

/** Free dead owner `victim`'s slot and scratch area (the caller `self`
 *  holds every shard lock); waiters on its flights look again, to take
 *  over from a leader gone. */
export function freeVictim(hdr: usize, self: u32, victim: u32): void {
  freeDeadOwner(hdr, self, victim);
  if (load<u32>(hdr, HDR_FLIGHTS) != 0) flightNudge(hdr);
}

/** Finish recovering (the caller holds every shard lock): recompute the
 *  map's entry count from the shards', then release every shard lock. */
export function recoverFinish(hdr: usize): void {
  const n = shardCountOf(hdr);
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += load<u32>(shardAt(hdr, i), SH_COUNT);
  atomic.store<u32>(hdr, total, HDR_COUNT);
  for (let i: u32 = 0; i < n; i++) unlock(shardAt(hdr, i) + SH_LOCK);
}
