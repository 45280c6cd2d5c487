// The region allocator: one for the whole memory, used only when a shard is
// built or resized and when an owner attaches (never on the hot path).
//
// A bump pointer (HDR_ALLOC_TOP) plus an address-ordered singly linked free
// list (HDR_FREE_HEAD) with first fit, splitting and coalescing; a free
// block that ends at the bump pointer is given back to it. Everything is
// under the allocator lock (HDR_ALLOC_LOCK, same protocol as a shard lock).
// Sizes are multiples of 64 so regions start on a cache line.
//
// Crash consistency: each step is ordered so that a stop between any two
// stores leaves no block both free and in use: a block is fully described
// before the store that links it, and unlinked (or shrunk) before it is
// handed out. A stop can leak a block, never double-allocate one.
//
// Ownership moves with one store made under the allocator lock: a region is
// handed out by storing its address into the caller's word (a shard's
// pending word, an owner slot's scratch word), and given back by clearing
// that word, after the free list walk (the only loop, where a terminated
// worker can stop) and before the stores that link it. So a region is
// always either recorded by its user or on its way onto the free list,
// never both: recovery frees what the words still record, and cannot free a
// region twice.

import {
  HDR_ALLOC_LOCK, HDR_ALLOC_TOP, HDR_FREE_HEAD, HDR_FREE_BYTES, HDR_MEM_BYTES,
  HDR_MAX_PAGES, align64,
} from "./layout";
import { PAGE_BYTES } from "./shared";
import { tryLock, unlock } from "./sync";

/** Returned instead of an address: the memory maximum is reached. */
export const ALLOC_FULL: u32 = 0;
/** Returned instead of an address: the allocator lock is held by another. */
export const ALLOC_BUSY: u32 = 1;

/** Grow the memory by at least 1 MiB, or 1/8 of its size, so that a run of
 *  small resizes does not pay one memory.grow each. */
const GROW_MIN_PAGES: u32 = 16;
const GROW_FRACTION_SHIFT: u32 = 3;
/** A u32 address cannot reach 4 GiB: the largest memory is 65535 pages. */
export const MAX_PAGES: u32 = 65535;
/** The largest region: all of a u32 address space but its last page. */
export const MAX_REGION_BYTES: u32 = 0xffff0000;
const PAGE_SHIFT: u32 = 16; // log2(PAGE_BYTES)

// A free block: [u32 size][u32 next free block or 0] ... (size bytes)
export const FB_SIZE = 0;
export const FB_NEXT = 4;

/** A region of at least `bytes` (rounded up to 64) for owner id `id`
 *  (the lock holder), recorded in the word
 *  at `into` before the lock is released; or ALLOC_FULL/BUSY (then `into`
 *  is unchanged). */
export function allocRegion(hdr: usize, id: u32, bytes: u64, into: usize): u32 {
  if (bytes == 0 || bytes > <u64>MAX_REGION_BYTES) return ALLOC_FULL;
  const lock = hdr + HDR_ALLOC_LOCK;
  if (!tryLock(lock, id)) return ALLOC_BUSY;
  const r = allocLocked(hdr, <u32>align64(bytes));
  if (r != ALLOC_FULL) atomic.store<u32>(into, r);
  unlock(lock);
  return r;
}

/** Give back the region of `bytes` whose address the word at `from` holds
 *  (nothing if it holds 0), clearing the word; false if the allocator is
 *  busy (then nothing changed: retry). */
export function freeRegion(hdr: usize, id: u32, from: usize, bytes: u32): bool {
  if (atomic.load<u32>(from) == 0) return true;
  const lock = hdr + HDR_ALLOC_LOCK;
  if (!tryLock(lock, id)) return false;
  freeLocked(hdr, from, <u32>align64(bytes));
  unlock(lock);
  return true;
}

/** freeRegion, waiting for the allocator lock (its holder is alive: a dead
 *  holder is taken over before, see recoverBegin). */
export function freeRegionWaiting(hdr: usize, id: u32, from: usize, bytes: u32): void {
  while (!freeRegion(hdr, id, from, bytes)) {}
}

/** Bytes below the bump pointer that are not on the free list: everything
 *  handed out, the map header included (for statistics). */
export function allocatedBytes(hdr: usize): u32 {
  return atomic.load<u32>(hdr, HDR_ALLOC_TOP) - atomic.load<u32>(hdr, HDR_FREE_BYTES);
}

function allocLocked(hdr: usize, size: u32): u32 {
  // First fit. `link` is the word that points at `cur`.
  let link: usize = hdr + HDR_FREE_HEAD;
  let cur = load<u32>(link);
  while (cur != 0) {
    const bsize = load<u32>(cur, FB_SIZE);
    if (bsize >= size) {
      if (bsize > size) {
        // Take the tail: one store shrinks the free block.
        store<u32>(cur, bsize - size, FB_SIZE);
        cur += bsize - size;
      } else {
        store<u32>(link, load<u32>(cur, FB_NEXT));
      }
      store<u32>(hdr, load<u32>(hdr, HDR_FREE_BYTES) - size, HDR_FREE_BYTES);
      return cur;
    }
    link = cur + FB_NEXT;
    cur = load<u32>(cur, FB_NEXT);
  }
  // Bump, growing the memory if needed.
  const top = load<u32>(hdr, HDR_ALLOC_TOP);
  const end = <u64>top + size;
  const mem = <u64>load<u32>(hdr, HDR_MEM_BYTES);
  if (end > mem) {
    const have = <u32>(mem >>> PAGE_SHIFT);
    const maxPages = load<u32>(hdr, HDR_MAX_PAGES);
    const need = <u32>((end - mem + PAGE_BYTES - 1) >>> PAGE_SHIFT);
    if (<u64>have + need > <u64>maxPages) return ALLOC_FULL;
    let pages = max(need, max(GROW_MIN_PAGES, have >>> GROW_FRACTION_SHIFT));
    if (have + pages > maxPages) pages = maxPages - have;
    let old = memory.grow(<i32>pages);
    if (old < 0 && pages != need) {
      pages = need;
      old = memory.grow(<i32>pages);
    }
    if (old < 0) return ALLOC_FULL;
    atomic.store<u32>(hdr, (<u32>old + pages) << PAGE_SHIFT, HDR_MEM_BYTES);
  }
  store<u32>(hdr, <u32>end, HDR_ALLOC_TOP);
  return top;
}

function freeLocked(hdr: usize, from: usize, size: u32): void {
  const p = atomic.load<u32>(from);
  // Find prev < p < cur, remembering the link to prev for the tail case.
  let prevLink: usize = 0;
  let prev: u32 = 0;
  let link: usize = hdr + HDR_FREE_HEAD;
  let cur = load<u32>(link);
  while (cur != 0 && cur < p) {
    prevLink = link;
    prev = cur;
    link = cur + FB_NEXT;
    cur = load<u32>(cur, FB_NEXT);
  }
  // From here on no loop: the region leaves its owner's word, then joins
  // the list.
  atomic.store<u32>(from, 0);
  store<u32>(hdr, load<u32>(hdr, HDR_FREE_BYTES) + size, HDR_FREE_BYTES);
  let bsize = size;
  let next = cur;
  if (cur != 0 && p + size == cur) {
    bsize += load<u32>(cur, FB_SIZE);
    next = load<u32>(cur, FB_NEXT);
  }
  let blk: u32;
  let blkLink: usize;
  if (prev != 0 && prev + load<u32>(prev, FB_SIZE) == p) {
    // Merge into prev: first skip `cur` (if merged), then grow prev.
    store<u32>(prev, next, FB_NEXT);
    store<u32>(prev, load<u32>(prev, FB_SIZE) + bsize, FB_SIZE);
    blk = prev;
    blkLink = prevLink;
  } else {
    store<u32>(p, bsize, FB_SIZE);
    store<u32>(p, next, FB_NEXT);
    store<u32>(link, p);
    blk = p;
    blkLink = link;
  }
  // The last block touching the bump pointer goes back to it.
  const blkSize = load<u32>(blk, FB_SIZE);
  if (next == 0 && blk + blkSize == load<u32>(hdr, HDR_ALLOC_TOP)) {
    store<u32>(blkLink, 0);
    store<u32>(hdr, blk, HDR_ALLOC_TOP);
    store<u32>(hdr, load<u32>(hdr, HDR_FREE_BYTES) - blkSize, HDR_FREE_BYTES);
  }
}
