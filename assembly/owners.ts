// The owner registry: one slot per attached instance (layout.ts: OWN_*).
//
// Contract: a slot is claimed with one compare-exchange of its state word
// (free -> alive, same generation) and freed with one add (alive -> free,
// next generation), so an instance's token stops working the moment its
// slot is freed. Its scratch area changes hands with the allocator's
// one-store protocol (alloc.ts): recorded in the slot as it is handed out,
// cleared as it is given back, so neither a detach nor a release that stops
// halfway can free it twice.

import {
  HDR_MAX_OWNERS, HDR_OWNERS, HDR_SCRATCH_BYTES, OWN_STATE, OWN_SCRATCH, OWN_THREAD, OWN_BYTES,
  ownerSlot,
} from "./layout";
import { ST_OK, ST_FULL, ST_BUSY, ST_BAD_ARG, ST_NO_OWNER, SCRATCH_KEY } from "./shared";
import {
  stateAlive, stateGen, stateClaimed, stateFreed, packToken, tokenId, tokenGen,
} from "./words";
import { allocRegion, freeRegion, freeRegionWaiting, ALLOC_BUSY, ALLOC_FULL } from "./alloc";
import { retireCounters } from "./counters";

/** Is `id` an owner id of this map (1..maxWorkers)? */
// @ts-ignore: decorator
@inline export function validId(hdr: usize, id: u32): bool {
  return id - 1 < load<u32>(hdr, HDR_MAX_OWNERS);
}

/** The scratch area of a live owner token (id and generation both
 *  current), or 0 if `token` is not one. Hot: every export starts here. */
// @ts-ignore: decorator
@inline export function ownerScratch(hdr: usize, token: u32): usize {
  const id = tokenId(token);
  if (!validId(hdr, id)) return 0;
  const slot = ownerSlot(hdr, id);
  const state = atomic.load<u32>(slot, OWN_STATE);
  if (!stateAlive(state) || stateGen(state) != tokenGen(token)) return 0;
  return load<u32>(slot, OWN_SCRATCH);
}

/** Is owner id `id` attached (its slot taken)? */
export function idAlive(hdr: usize, id: u32): bool {
  return validId(hdr, id) && stateAlive(atomic.load<u32>(ownerSlot(hdr, id), OWN_STATE));
}

/** Claim a free slot and a scratch area for a new instance of thread
 *  `thread` (its id + 1, 0 if unknown). An owner token (> 0), or
 *  ST_NO_OWNER, ST_FULL, ST_BUSY (allocator; retry). */
export function claimOwner(hdr: usize, thread: u32): i32 {
  const n = load<u32>(hdr, HDR_MAX_OWNERS);
  const owners = <usize>load<u32>(hdr, HDR_OWNERS);
  for (let i: u32 = 0; i < n; i++) {
    const slot = owners + <usize>i * OWN_BYTES;
    const s = atomic.load<u32>(slot, OWN_STATE);
    if (stateAlive(s) || atomic.cmpxchg<u32>(slot, s, stateClaimed(s), OWN_STATE) != s) continue;
    // The thread first (no loop between the claim and this store, so a
    // terminated worker cannot stop there): a stop in what follows leaves a
    // slot that releaseThread finds.
    atomic.store<u32>(slot, thread, OWN_THREAD);
    // OWN_SCRATCH is 0 in a free slot (detach and freeOwner clear it as
    // they free the area), and records the new area as it is handed out.
    const scratch = allocRegion(hdr, i + 1, load<u32>(hdr, HDR_SCRATCH_BYTES), slot + OWN_SCRATCH);
    if (scratch == ALLOC_FULL || scratch == ALLOC_BUSY) {
      atomic.store<u32>(slot, 0, OWN_THREAD);
      atomic.store<u32>(slot, s, OWN_STATE);
      return scratch == ALLOC_FULL ? ST_FULL : ST_BUSY;
    }
    // A reused region holds old bytes: the scratch words must start at 0.
    memory.fill(scratch, 0, SCRATCH_KEY);
    return <i32>packToken(i + 1, stateGen(s));
  }
  return ST_NO_OWNER;
}

/** An instance detaches itself: its scratch area is freed, then its slot.
 *  ST_OK, ST_BAD_ARG (not a live token), ST_BUSY (allocator; retry). */
export function detachOwner(hdr: usize, token: u32): i32 {
  if (ownerScratch(hdr, token) == 0) return ST_BAD_ARG;
  const id = tokenId(token);
  const slot = ownerSlot(hdr, id);
  retireCounters(hdr, <usize>load<u32>(slot, OWN_SCRATCH));
  // The scratch word is cleared as the area is freed: a stop before the
  // state changes leaves a live slot without scratch, which release frees
  // without freeing anything twice.
  if (!freeRegion(hdr, id, slot + OWN_SCRATCH, load<u32>(hdr, HDR_SCRATCH_BYTES))) return ST_BUSY;
  atomic.store<u32>(slot, 0, OWN_THREAD);
  // Unless a release freed the slot meanwhile (then it moved on already).
  const s = atomic.load<u32>(slot, OWN_STATE);
  if (stateAlive(s) && stateGen(s) == tokenGen(token)) atomic.cmpxchg<u32>(slot, s, stateFreed(s), OWN_STATE);
  return ST_OK;
}

/** Free a dead owner's slot and scratch area, by owner id `self` (its
 *  generation moves on, so its token is refused from now on). Nothing if
 *  the slot is free already. */
export function freeDeadOwner(hdr: usize, self: u32, victim: u32): void {
  const slot = ownerSlot(hdr, victim);
  const s = atomic.load<u32>(slot, OWN_STATE);
  if (stateAlive(s) && atomic.cmpxchg<u32>(slot, s, stateFreed(s), OWN_STATE) == s) {
    retireCounters(hdr, <usize>load<u32>(slot, OWN_SCRATCH));
    freeRegionWaiting(hdr, self, slot + OWN_SCRATCH, load<u32>(hdr, HDR_SCRATCH_BYTES));
    atomic.store<u32>(slot, 0, OWN_THREAD);
  }
}

/** Number of attached instances (slots taken). */
export function aliveCount(hdr: usize): u32 {
  const n = load<u32>(hdr, HDR_MAX_OWNERS);
  let k: u32 = 0;
  for (let id: u32 = 1; id <= n; id++) if (stateAlive(atomic.load<u32>(ownerSlot(hdr, id), OWN_STATE))) k++;
  return k;
}

/** The thread word of owner id `id` (thread id + 1; 0 if unknown or free). */
export function threadOf(hdr: usize, id: u32): u32 {
  return validId(hdr, id) ? atomic.load<u32>(ownerSlot(hdr, id), OWN_THREAD) : 0;
}
