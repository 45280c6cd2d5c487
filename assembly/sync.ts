// Every atomic access of the core's shared protocol words goes through
// these accessors: the seqlock, the table word, the locks and the reader's
// fence (counters, owner slots and in-place values use atomics where they
// are, each commented).
//
// Ordering rule: Wasm atomics are sequentially consistent. Writers change
// what readers can see only between seqBegin and seqEnd (or publish a whole
// new table with tablePublish followed by seqRetire), so a reader that sees
// the same even seq before and after its plain loads saw a consistent
// state, provided its plain loads are ordered before the second seq load:
// readFence does that (an idempotent RMW on the reader's private word is a
// full fence; Wasm has no atomic.fence).

import {
  SH_SEQ, SH_EPOCH, SH_TABLE, SH_LOCK, SH_STRIPES, STRIPES, STRIPE_SHIFT, HDR_EPOCH, HDR_ALLOC_LOCK, LOCK_SPINS, shardAt,
  shardCountOf,
} from "./layout";
import { LOCK_CONTENDED, ST_BUSY, SCRATCH_BUSY } from "./shared";
import { tableWord, lockHolder } from "./words";

// ---- seqlock ---------------------------------------------------------------

// @ts-ignore: decorator
@inline export function seqRead(sh: usize): u32 {
  return atomic.load<u32>(sh, SH_SEQ);
}

/** Is a writer changing the shard (seq odd)? */
// @ts-ignore: decorator
@inline export function seqChanging(s: u32): bool {
  return (s & 1) != 0;
}

/** seq becomes odd: readers that overlap will retry. */
// @ts-ignore: decorator
@inline export function seqBegin(sh: usize): void {
  atomic.add<u32>(sh, 1, SH_SEQ);
}

/** seq becomes even again. */
// @ts-ignore: decorator
@inline export function seqEnd(sh: usize): void {
  atomic.add<u32>(sh, 1, SH_SEQ);
}

/** After a new table is published: readers still in the old one retry. */
// @ts-ignore: decorator
@inline export function seqRetire(sh: usize): void {
  atomic.add<u32>(sh, 2, SH_SEQ);
}

// @ts-ignore: decorator
@inline export function readFence(privateWord: usize): void {
  atomic.or<u32>(privateWord, 0);
}

// ---- write stripes (layout.ts: SH_STRIPES) ------------------------------------
// A finer seq for the facade's read memo (src/core/memo.ts): each key of a
// plain map has one of its shard's STRIPES counters, and every change of
// its value a reader can see (replaced but in place, removed; the whole
// shard when cleared or repaired) bumps it, atomically, inside the seqlock
// bracket of the change. A reader reads it inside its own bracket, so a
// value read at stripe count c is the key's value for as long as the count
// stays c. Values replaced in place (<= 8 bytes, writer.ts replace) and
// cache maps' entries (which expire and are evicted) do not bump it: the
// memo keeps neither. Moving entries (rebuild, compaction) changes no value
// and bumps nothing.

/** The address of stripe `i` (< STRIPES) of shard header `sh`. */
// @ts-ignore: decorator
@inline function stripeAt(sh: usize, i: usize): usize {
  return sh + SH_STRIPES + (i << 2);
}

/** The address of the stripe of hash h in shard header `sh`. */
// @ts-ignore: decorator
@inline export function stripeOf(sh: usize, h: u64): usize {
  return stripeAt(sh, <usize>(h >>> STRIPE_SHIFT) & (STRIPES - 1));
}

/** A change of the key of hash h (inside the seqlock bracket). */
// @ts-ignore: decorator
@inline export function stripeBump(sh: usize, h: u64): void {
  atomic.add<u32>(stripeOf(sh, h), 1);
}

/** A change of any key of the shard (inside the bracket, or before a
 *  table publish that seqRetire follows). */
export function stripesBumpAll(sh: usize): void {
  for (let i: usize = 0; i < STRIPES; i++) atomic.add<u32>(stripeAt(sh, i), 1);
}

// ---- heap epoch (layout.ts: SH_EPOCH) -------------------------------------------

// @ts-ignore: decorator
@inline export function epochRead(sh: usize): u32 {
  return atomic.load<u32>(sh, SH_EPOCH);
}

/** Give the shard a heap epoch no shard had before: its heap entries are
 *  about to move or be overwritten. Inside a seqlock bracket (or before a
 *  table publish that seqRetire follows), so readers that saw the old one
 *  retry. */
export function epochNext(hdr: usize, sh: usize): void {
  atomic.store<u32>(sh, atomic.add<u32>(hdr, 1, HDR_EPOCH) + 1, SH_EPOCH);
}

// ---- table word (words.ts) ----------------------------------------------------

// @ts-ignore: decorator
@inline export function tableLoad(sh: usize): u64 {
  return atomic.load<u64>(sh, SH_TABLE);
}

// @ts-ignore: decorator
@inline export function tablePublish(sh: usize, ctrl: u32, groupCount: u32): void {
  atomic.store<u64>(sh, tableWord(ctrl, groupCount), SH_TABLE);
}

// ---- locks: a word holding owner id | LOCK_CONTENDED, 0 when free -----------

/** Try to take the lock at `word` for owner id `id`, spinning at most
 *  LOCK_SPINS times (test-and-test-and-set, so spinning only reads). */
export function tryLock(word: usize, id: u32): bool {
  for (let i = 0; i < LOCK_SPINS; i++) {
    if (atomic.load<u32>(word) == 0 && atomic.cmpxchg<u32>(word, 0, id) == 0) {
      return true;
    }
  }
  return false;
}

/** Take over the lock at `word` from owner id `from` (dead) for `to`:
 *  true if `from` held it and now `to` does (a waiter's contended mark is
 *  kept, so the release still wakes it). */
export function takeOver(word: usize, from: u32, to: u32): bool {
  const v = atomic.load<u32>(word);
  return lockHolder(v) == from && atomic.cmpxchg<u32>(word, v, to | (v & LOCK_CONTENDED)) == v;
}

/** Release the lock; wake JS waiters if one marked the word contended. */
export function unlock(word: usize): void {
  const old = atomic.xchg<u32>(word, 0);
  if (old & LOCK_CONTENDED) atomic.notify(word, -1);
}

/** The owner id holding the lock at `word`, 0 if free. */
// @ts-ignore: decorator
@inline export function holder(word: usize): u32 {
  return lockHolder(atomic.load<u32>(word));
}

/** Does owner id `id` hold the lock at `word`? */
// @ts-ignore: decorator
@inline export function holds(word: usize, id: u32): bool {
  return holder(word) == id;
}

/** A lock could not be taken: record its word's address in the caller's
 *  scratch (word SCRATCH_BUSY) for the facade to sleep on with
 *  Atomics.wait, and return ST_BUSY. */
export function busy(scratch: usize, word: usize): i32 {
  store<u32>(scratch, <u32>word, SCRATCH_BUSY);
  return ST_BUSY;
}

/** Does owner id `id` hold every shard lock? */
export function holdsAll(hdr: usize, id: u32): bool {
  const n = shardCountOf(hdr);
  for (let i: u32 = 0; i < n; i++) if (!holds(shardAt(hdr, i) + SH_LOCK, id)) return false;
  return true;
}

/** Locks owner id `id` holds now: shards, plus 1 for the allocator. */
export function locksHeld(hdr: usize, id: u32): u32 {
  let k: u32 = holder(hdr + HDR_ALLOC_LOCK) == id ? 1 : 0;
  const n = shardCountOf(hdr);
  for (let i: u32 = 0; i < n; i++) if (holder(shardAt(hdr, i) + SH_LOCK) == id) k++;
  return k;
}
