// The maintenance exports (the release build's, as index.ts's; index.ts
// re-exports them): shard locks taken from JS for iteration, checks and
// statistics, the faults count, the steps of recovering a dead owner, and
// what the facade asks about owners and locks. Same rule as index.ts: each
// checks its arguments, including which locks the caller must hold, and
// makes one call into the core. None is on a hot path.

import { headerBase, HDR_FAULTS, SH_LOCK, shardAt, shardCountOf } from "./layout";
import { ST_OK, ST_BAD_ARG } from "./shared";
import { tryLock, unlock, holder, holds, holdsAll, locksHeld, busy } from "./sync";
import { tokenId } from "./words";
import { ownerScratch, validId, idAlive, threadOf, aliveCount } from "./owners";
import { shardStats as shardStatsLocked, nextEntry } from "./stats";
import { recoverMapLocks, recoverShardLock, freeVictim, recoverFinish } from "./recover";
import { checkShardLocked, checkAllocatorUnderLock } from "./check";

// ---- shard locks for iteration, checks and statistics ------------------------------

/** The header of shard `shard` if `token` is live, the shard exists and the
 *  token's owner holds its lock; else 0 (the prologue of the exports that
 *  need a shard locked with lockShard). */
// @ts-ignore: decorator
@inline function lockedShard(hdr: usize, token: u32, shard: u32): usize {
  if (ownerScratch(hdr, token) == 0 || shard >= shardCountOf(hdr)) return 0;
  const sh = shardAt(hdr, shard);
  return holds(sh + SH_LOCK, tokenId(token)) ? sh : 0;
}

/** Take a shard's lock (iteration, checks, statistics). ST_OK, ST_BUSY,
 *  ST_BAD_ARG. */
export function lockShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  return tryLock(sh + SH_LOCK, tokenId(token)) ? ST_OK : busy(scratch, sh + SH_LOCK);
}

/** Release a shard lock taken with lockShard. ST_OK or ST_BAD_ARG. */
export function unlockShard(token: u32, shard: u32): i32 {
  const sh = lockedShard(headerBase(), token, shard);
  if (sh == 0) return ST_BAD_ARG;
  unlock(sh + SH_LOCK);
  return ST_OK;
}

/** Copy the next entry of a shard locked with lockShard: key to the key
 *  area, value to the aux area, key length and value word to scratch
 *  words 1 and 2. Returns the next cursor (start at 0), ST_NOT_FOUND at the
 *  end, ST_BAD_ARG if the owner does not hold the shard. */
export function next(token: u32, shard: u32, cursor: u32): i32 {
  const hdr = headerBase();
  const sh = lockedShard(hdr, token, shard);
  if (sh == 0) return ST_BAD_ARG;
  return nextEntry(hdr, sh, ownerScratch(hdr, token), cursor);
}

/** Statistics of a shard that the owner has locked (lockShard), written to
 *  its scratch at SCRATCH_STATS (STAT_*). ST_OK or ST_BAD_ARG. */
export function shardStats(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const sh = lockedShard(hdr, token, shard);
  return sh == 0 ? ST_BAD_ARG : shardStatsLocked(hdr, sh, ownerScratch(hdr, token));
}

/** Consistency check of a shard that the owner has locked: CHECK_OK or
 *  the first broken rule (CHECK_* in shared.ts), ST_BAD_ARG if the owner
 *  does not hold the shard. */
export function checkShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const sh = lockedShard(hdr, token, shard);
  return sh == 0 ? ST_BAD_ARG : <i32>checkShardLocked(hdr, sh);
}

/** Consistency check of the allocator, by an owner that holds every shard
 *  lock (so no region changes hands): CHECK_OK or the first broken rule,
 *  with the leaked bytes (neither free nor in use) in scratch word 2;
 *  ST_BUSY (allocator lock) or ST_BAD_ARG. */
export function checkAllocator(token: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || !holdsAll(hdr, tokenId(token))) return ST_BAD_ARG;
  return checkAllocatorUnderLock(hdr, scratch, tokenId(token));
}

/** Count an internal error (a trap or abort) that an instance hit, so that
 *  any instance can tell a map that had one (see faults). */
export function noteFault(): void {
  atomic.add<u32>(headerBase(), 1, HDR_FAULTS);
}

/** Internal errors noted so far by all instances. */
export function faults(): u32 {
  return atomic.load<u32>(headerBase(), HDR_FAULTS);
}

// ---- recovery (a dead owner, or this owner after a fault) --------------------------

/** Start recovering owner id `victim` (another instance's, or the caller's
 *  own after a fault). If the victim holds the allocator lock, take it over
 *  and repair the allocator. ST_OK or ST_BAD_ARG. */
export function recoverBegin(token: u32, victim: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0 || !validId(hdr, victim)) return ST_BAD_ARG;
  recoverMapLocks(hdr, tokenId(token), victim);
  return ST_OK;
}

/** Take shard `shard`'s lock for recovery: over from `victim` if it holds
 *  it (then repair the shard), else the normal way. The caller keeps it
 *  until recoverEnd. ST_OK, ST_BUSY or ST_BAD_ARG. */
export function recoverShard(token: u32, victim: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  return recoverShardLock(hdr, scratch, tokenId(token), victim, shardAt(hdr, shard));
}

/** Free a dead owner's slot and scratch area (its generation moves on, so
 *  its token is refused from now on). Call between recoverShard and
 *  recoverEnd, while holding every shard lock. ST_OK or ST_BAD_ARG. */
export function freeOwner(token: u32, victim: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0 || !validId(hdr, victim) || victim == tokenId(token)) return ST_BAD_ARG;
  freeVictim(hdr, tokenId(token), victim);
  return ST_OK;
}

/** Finish recovering: with every shard lock held by the caller, recompute
 *  the entry count, then release every shard lock. ST_OK or ST_BAD_ARG. */
export function recoverEnd(token: u32): i32 {
  const hdr = headerBase();
  const self = tokenId(token);
  if (ownerScratch(hdr, token) == 0 || !holdsAll(hdr, self)) return ST_BAD_ARG;
  recoverFinish(hdr);
  return ST_OK;
}

/** Owner id holding shard `shard`'s lock now, 0 if free. */
export function shardLockOwner(shard: u32): u32 {
  const hdr = headerBase();
  return shard < shardCountOf(hdr) ? holder(shardAt(hdr, shard) + SH_LOCK) : 0;
}

/** Locks owner id `id` holds now: shards, plus 1 for the allocator. */
export function locksHeldBy(id: u32): u32 {
  return locksHeld(headerBase(), id);
}

/** Is owner id `id` attached (its slot taken)? 1 or 0. */
export function ownerAlive(id: u32): u32 {
  return idAlive(headerBase(), id) ? 1 : 0;
}

/** Number of attached instances. */
export function attachedCount(): u32 {
  return aliveCount(headerBase());
}

/** The thread word of owner id `id`: the attaching thread's id + 1, 0 if
 *  unknown or free. */
export function ownerThread(id: u32): u32 {
  return threadOf(headerBase(), id);
}
