// The exports: the only way in. Each checks its arguments (owner id, lengths,
// op and type codes) and then calls the raw table (table.ts), which trusts
// them. Status codes and encodings: shared.ts. Layout and protocol: the
// Overview in layout.ts.

import {
  headerBase, MAGIC,
  HDR_MAGIC, HDR_VERSION, HDR_SHARD_BITS, HDR_MAX_OWNERS, HDR_SEED, HDR_MAP_ID,
  HDR_MAX_KEY, HDR_MAX_VALUE, HDR_SCRATCH_BYTES, HDR_VALUE_OFF, HDR_AUX_OFF,
  HDR_MIN_GROUPS, HDR_OWNERS, HDR_SHARDS, HDR_ALLOC_TOP, HDR_MEM_BYTES, HDR_MAX_PAGES,
  HDR_COUNT, HDR_BYTES, HDR_ALLOC_LOCK, HDR_DEBUG_ENTRIES, HDR_DEBUG_RINGS, HDR_FAULTS,
  OWN_STATE, OWN_SCRATCH, OWN_BYTES,
  SH_LOCK, SH_COUNT, SH_USED, SH_HEAP_TOP, SH_DEAD, SH_BYTES, SH_REGION_BYTES,
  GROUP_SLOTS, GROUP_SLOT_SHIFT, CELL_BYTES, firstGroup, nextGroup, LOAD_NUM, LOAD_DEN, READ_RETRIES, align8, align64,
  VLEN_MASK, valueOffset as entryValueOffset, E_KEY, E_KLEN, entryBytes,
} from "./layout";
import {
  LAYOUT_VERSION, ST_OK, ST_NOT_FOUND, ST_BUSY, ST_FULL, ST_MISMATCH, ST_BAD_ARG,
  ST_BAD_LAYOUT, ST_NO_OWNER, T_UNDEFINED, T_F64, T_PACKED, OP_STORE, OP_LOAD_OR_STORE,
  OP_SWAP, OP_CAS, OP_DELETE, OP_LOAD_AND_DELETE, OP_CAD, SCRATCH_BUSY, SCRATCH_KLEN,
  SCRATCH_WORD, SCRATCH_FENCE, SCRATCH_KEY, MAX_KEY_BYTES_LIMIT, MAX_VALUE_BYTES_LIMIT,
  MAX_SHARDS, MAX_OWNERS, MAX_DEBUG_ENTRIES, SCRATCH_DEBUG, LOG_LOAD, LOG_HAS, LOG_LOAD_NUMBER, LOCK_CONTENDED, OWNER_ID_BITS, OWNER_ID_MASK, OWNER_GEN_MASK, SCRATCH_TEST,
} from "./shared";
import { emptyGroupCtrl } from "./ctrl";
import { checkShardLocked, checkAllocatorLocked } from "./check";
import { repairShard, repairAllocator } from "./recover";
import { hashKey } from "./hash";
import {
  seqRead, seqBegin, seqEnd, readFence, tableLoad, tableGroups, tableCount, tryLock,
  unlock, holds, lockOwner,
} from "./sync";
import { allocRegion, freeRegion, freeRegionWaiting, allocatedBytes, ALLOC_BUSY, ALLOC_FULL, MAX_PAGES } from "./alloc";
import {
  find, copyValue, valueEquals, insert, replace, remove, copyOut, rebuild, entryAt,
  refEntry, isOutline, heapStartOf, stageInline, freeRetired, FIND_TORN, nextFull, slotNumber,
} from "./table";

export { headerBase };

/** A guess of one entry's heap bytes, to size the heap for initialCapacity:
 *  entries that fit a cell take none, longer ones at least 40. */
const INITIAL_ENTRY_BYTES: u32 = 16;
/** Owner id used while `init` builds the shards (no owner is attached yet). */
const INIT_OWNER: u32 = 1;

// ---- helpers ------------------------------------------------------------------

/** The owner id (registry slot + 1, what lock words hold) of a token. */
// @ts-ignore: decorator
@inline function ownerId(token: u32): u32 {
  return token & OWNER_ID_MASK;
}

/** The registry slot of owner id `id` (1-based; checked by the caller). */
// @ts-ignore: decorator
@inline function ownerSlot(hdr: usize, id: u32): usize {
  return <usize>load<u32>(hdr, HDR_OWNERS) + <usize>(id - 1) * OWN_BYTES;
}

/** The scratch area of a live owner token (id and generation both
 *  current), or 0 if `token` is not one. Hot: every export starts here. */
// @ts-ignore: decorator
@inline function ownerScratch(hdr: usize, token: u32): usize {
  const id = ownerId(token);
  if (id - 1 >= load<u32>(hdr, HDR_MAX_OWNERS)) return 0;
  const slot = ownerSlot(hdr, id);
  const state = atomic.load<u32>(slot, OWN_STATE);
  if ((state & 1) == 0 || ((state >>> 1) & OWNER_GEN_MASK) != token >>> OWNER_ID_BITS) return 0;
  return load<u32>(slot, OWN_SCRATCH);
}

// @ts-ignore: decorator
@inline function shardAt(hdr: usize, index: u32): usize {
  return <usize>load<u32>(hdr, HDR_SHARDS) + <usize>index * SH_BYTES;
}

/** The shard of a hash: bits 32.. of it. */
// @ts-ignore: decorator
@inline function shardOf(hdr: usize, h: u64): usize {
  const bits = load<u32>(hdr, HDR_SHARD_BITS);
  return shardAt(hdr, <u32>(h >>> 32) & ((<u32>1 << bits) - 1));
}

// @ts-ignore: decorator
@inline function memBytes(hdr: usize): u64 {
  return <u64>atomic.load<u32>(hdr, HDR_MEM_BYTES);
}

// @ts-ignore: decorator
@inline function busy(scratch: usize, word: usize): i32 {
  store<u32>(scratch, <u32>word, SCRATCH_BUSY);
  return ST_BUSY;
}

// ---- lifecycle ----------------------------------------------------------------

/** Lay out a new map in a fresh memory. The facade checked the options;
 *  these checks only keep the layout sound. ST_OK, ST_BAD_ARG, ST_FULL. */
export function init(
  shardBits: u32, maxOwners: u32, seedLo: u32, seedHi: u32, idLo: u32, idHi: u32,
  maxKey: u32, maxValue: u32, perShard: u32, maxPages: u32, debugEntries: u32,
): i32 {
  const hdr = headerBase();
  if (atomic.load<u32>(hdr, HDR_MAGIC) != 0) return ST_BAD_ARG;
  if ((<u32>1 << shardBits) > <u32>MAX_SHARDS || maxOwners - 1 >= <u32>MAX_OWNERS) return ST_BAD_ARG;
  if (maxKey - 1 >= <u32>MAX_KEY_BYTES_LIMIT || maxValue < 8 || maxValue > <u32>MAX_VALUE_BYTES_LIMIT) return ST_BAD_ARG;
  if (maxPages > MAX_PAGES || <u32>memory.size() > maxPages) return ST_BAD_ARG;
  const owners = <u32>align64(<u64>hdr + HDR_BYTES);
  const shards = <u32>align64(<u64>owners + <u64>maxOwners * OWN_BYTES);
  if (debugEntries > <u32>MAX_DEBUG_ENTRIES || (debugEntries & (debugEntries - 1)) != 0) return ST_BAD_ARG;
  const rings = <u32>align64(<u64>shards + (<u64>1 << shardBits) * SH_BYTES);
  const top = align64(<u64>rings + (<u64>1 << shardBits) * ringBytes(debugEntries));
  const mem = <u64>memory.size() << 16;
  if (top > mem) return ST_FULL;
  store<u32>(hdr, LAYOUT_VERSION, HDR_VERSION);
  store<u32>(hdr, shardBits, HDR_SHARD_BITS);
  store<u32>(hdr, maxOwners, HDR_MAX_OWNERS);
  store<u64>(hdr, <u64>seedLo | (<u64>seedHi << 32), HDR_SEED);
  store<u64>(hdr, <u64>idLo | (<u64>idHi << 32), HDR_MAP_ID);
  store<u32>(hdr, maxKey, HDR_MAX_KEY);
  store<u32>(hdr, maxValue, HDR_MAX_VALUE);
  const valueOff = SCRATCH_KEY + align8(maxKey);
  const auxOff = valueOff + align8(maxValue);
  store<u32>(hdr, valueOff, HDR_VALUE_OFF);
  store<u32>(hdr, auxOff, HDR_AUX_OFF);
  store<u32>(hdr, auxOff + align8(maxValue), HDR_SCRATCH_BYTES);
  store<u32>(hdr, owners, HDR_OWNERS);
  store<u32>(hdr, shards, HDR_SHARDS);
  store<u32>(hdr, <u32>top, HDR_ALLOC_TOP);
  store<u32>(hdr, <u32>mem, HDR_MEM_BYTES);
  store<u32>(hdr, maxPages, HDR_MAX_PAGES);
  store<u32>(hdr, debugEntries, HDR_DEBUG_ENTRIES);
  store<u32>(hdr, rings, HDR_DEBUG_RINGS);
  // Groups for perShard entries at the max load: no resize until then.
  const perGroup = <u64>GROUP_SLOTS * LOAD_NUM;
  const groups = <u32>max(<u64>1, (<u64>perShard * LOAD_DEN + perGroup - 1) / perGroup);
  store<u32>(hdr, groups, HDR_MIN_GROUPS);
  const heap = <u32>min(<u64>perShard * INITIAL_ENTRY_BYTES, <u64>0x7fffffff);
  for (let i: u32 = 0; i < (<u32>1 << shardBits); i++) {
    const st = rebuild(hdr, shardAt(hdr, i), INIT_OWNER, 0, heap, groups, false);
    if (st != ST_OK) return st;
  }
  atomic.store<u32>(hdr, LAYOUT_VERSION, HDR_VERSION);
  atomic.store<u32>(hdr, MAGIC, HDR_MAGIC); // publishes the map
  return ST_OK;
}

/** Is this memory a map of this layout, with this id? */
export function check(idLo: u32, idHi: u32): i32 {
  const hdr = headerBase();
  if (<u64>memory.size() << 16 < <u64>hdr + HDR_BYTES) return ST_BAD_LAYOUT;
  if (atomic.load<u32>(hdr, HDR_MAGIC) != MAGIC) return ST_BAD_LAYOUT;
  if (load<u32>(hdr, HDR_VERSION) != LAYOUT_VERSION) return ST_BAD_LAYOUT;
  if (load<u64>(hdr, HDR_MAP_ID) != (<u64>idLo | (<u64>idHi << 32))) return ST_BAD_ARG;
  return ST_OK;
}

/** Claim an owner slot and its scratch area. Owner token > 0, or ST_NO_OWNER,
 *  ST_FULL, ST_BUSY (allocator; the busy word is not reported: retry). */
export function attach(): i32 {
  const hdr = headerBase();
  const n = load<u32>(hdr, HDR_MAX_OWNERS);
  const owners = <usize>load<u32>(hdr, HDR_OWNERS);
  for (let i: u32 = 0; i < n; i++) {
    const slot = owners + <usize>i * OWN_BYTES;
    const s = atomic.load<u32>(slot, OWN_STATE);
    if ((s & 1) != 0 || atomic.cmpxchg<u32>(slot, s, s | 1, OWN_STATE) != s) continue;
    // OWN_SCRATCH is 0 in a free slot (detach and freeOwner clear it as
    // they free the area), and records the new area as it is handed out.
    const scratch = allocRegion(hdr, i + 1, load<u32>(hdr, HDR_SCRATCH_BYTES), slot + OWN_SCRATCH);
    if (scratch == ALLOC_FULL || scratch == ALLOC_BUSY) {
      atomic.store<u32>(slot, s, OWN_STATE);
      return scratch == ALLOC_FULL ? ST_FULL : ST_BUSY;
    }
    // A reused region holds old bytes: the scratch words must start at 0.
    memory.fill(scratch, 0, SCRATCH_KEY);
    return <i32>((i + 1) | ((((s >>> 1) & OWNER_GEN_MASK)) << OWNER_ID_BITS));
  }
  return ST_NO_OWNER;
}

/** Release an owner slot and free its scratch. ST_OK, ST_BAD_ARG, ST_BUSY. */
export function detach(owner: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, owner);
  if (scratch == 0) return ST_BAD_ARG;
  const slot = ownerSlot(hdr, ownerId(owner));
  // The scratch word is cleared as the area is freed: a stop before the
  // state changes leaves a live slot without scratch, which release frees
  // without freeing anything twice.
  if (!freeRegion(hdr, ownerId(owner), slot + OWN_SCRATCH, load<u32>(hdr, HDR_SCRATCH_BYTES))) return ST_BUSY;
  // generation << 1 | 1  ->  (generation + 1) << 1: free, next generation.
  atomic.add<u32>(slot, 1, OWN_STATE);
  return ST_OK;
}

/** Does nothing: the benchmark's measure of one JS -> Wasm call. */
export function nop(): void {}

export function scratchOf(owner: u32): u32 {
  return <u32>ownerScratch(headerBase(), owner);
}
export function shardCount(): u32 {
  return <u32>1 << load<u32>(headerBase(), HDR_SHARD_BITS);
}
export function maxKeyBytes(): u32 {
  return load<u32>(headerBase(), HDR_MAX_KEY);
}
export function maxValueBytes(): u32 {
  return load<u32>(headerBase(), HDR_MAX_VALUE);
}
export function valueOffset(): u32 {
  return load<u32>(headerBase(), HDR_VALUE_OFF);
}
export function auxOffset(): u32 {
  return load<u32>(headerBase(), HDR_AUX_OFF);
}
/** Byte address of the allocator lock word (to wait on after ST_BUSY). */
export function allocLockAddress(): u32 {
  return <u32>(headerBase() + HDR_ALLOC_LOCK);
}
/** Byte address of shard 0's header (shard i is at + i * SH_BYTES). */
export function shardsAddress(): u32 {
  return load<u32>(headerBase(), HDR_SHARDS);
}
/** Bytes of one shard header. */
export function shardHeaderBytes(): u32 {
  return SH_BYTES;
}
/** Bytes of one cell (an inline entry or an out-of-line address). */
export function cellBytes(): u32 {
  return CELL_BYTES;
}
/** Slots per group. */
export function groupSlots(): u32 {
  return GROUP_SLOTS;
}
/** Byte offset of the lock word in a shard header. */
export function shardLockOffset(): u32 {
  return SH_LOCK;
}
/** Live entries in the whole map: O(1). */
export function size(): u32 {
  return atomic.load<u32>(headerBase(), HDR_COUNT);
}
/** Bytes of the memory handed out to the header, scratch areas and shards. */
export function usedBytes(): u32 {
  return allocatedBytes(headerBase());
}
/** Bytes of all shard regions (tables and heaps): what the entries cost,
 *  without the header and the scratch areas. Reads racy counters; exact
 *  when no write is in flight. */
export function tablesBytes(): u32 {
  const hdr = headerBase();
  const n = shardCount();
  let total: u64 = 0;
  for (let i: u32 = 0; i < n; i++) total += load<u32>(shardAt(hdr, i), SH_REGION_BYTES);
  return <u32>min(total, <u64>0xffffffff);
}
/** Bytes the memory holds now (all agents see the same). */
export function committedBytes(): u32 {
  return atomic.load<u32>(headerBase(), HDR_MEM_BYTES);
}

// ---- reads (lock-free) --------------------------------------------------------

/** Read the key in the owner's scratch. copy: copy the value to the aux
 *  area. Returns the value's header word, ST_NOT_FOUND, ST_BUSY (fell back
 *  to the lock and it is held) or ST_BAD_ARG. Hot path. */
// @ts-ignore: decorator
@inline function read(token: u32, klen: u32, copy: bool): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0) return ST_BAD_ARG;
  return readAt(hdr, scratch, ownerId(token), klen, copy);
}

/** read() for a validated owner: its scratch area and id. */
// @ts-ignore: decorator
@inline function readAt(hdr: usize, scratch: usize, owner: u32, klen: u32, copy: bool): i32 {
  if (klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return ST_BAD_ARG;
  const key = scratch + SCRATCH_KEY;
  const out = scratch + load<u32>(hdr, HDR_AUX_OFF);
  const maxValue = load<u32>(hdr, HDR_MAX_VALUE);
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const sh = shardOf(hdr, h);
  for (let i = 0; i < READ_RETRIES; i++) {
    const s = seqRead(sh);
    if (s & 1) continue;
    // The table word first, then the memory size: a table published after
    // a memory.grow must be checked against the grown size.
    const t = tableLoad(sh);
    const mem = memBytes(hdr);
    const ref = find(t, h, key, klen, mem);
    let w: i32 = ST_NOT_FOUND;
    if (ref == FIND_TORN) {
      w = 0; // retry
    } else if (ref != 0) {
      // 0 from copyValue: an implausible (torn) entry; retry.
      w = copy ? <i32>copyValue(ref, klen, out, maxValue, mem) : 1;
    }
    readFence(scratch + SCRATCH_FENCE);
    if (seqRead(sh) == s && w != 0) return w;
  }
  // Fallback: a writer keeps changing this shard (or was preempted).
  if (!tryLock(sh + SH_LOCK, owner)) return busy(scratch, sh + SH_LOCK);
  const ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  const w: i32 = ref == 0 ? ST_NOT_FOUND : <i32>copyOut(ref, klen, out);
  unlock(sh + SH_LOCK);
  return w;
}

/** load: the value's header word (bytes in the aux area) or ST_NOT_FOUND. */
export function get(owner: u32, klen: u32): i32 {
  return read(owner, klen, true);
}

/** loadNumber's path: the stored f64, or NaN with the status (what `get`
 *  returns: a header word, ST_NOT_FOUND, ST_BUSY...) in scratch word 2.
 *  A stored NaN also returns NaN: the caller tells them apart by the word. */
export function getF64(token: u32, klen: u32): f64 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0) return NaN; // the caller finds ST_BAD_ARG by asking again
  const w = readAt(hdr, scratch, ownerId(token), klen, true);
  if (w > 0 && (<u32>w >>> 24) == <u32>T_F64) {
    const v = load<f64>(scratch + load<u32>(hdr, HDR_AUX_OFF));
    if (v == v) return v; // a stored NaN goes the slow way, with its word
  }
  store<i32>(scratch, w, SCRATCH_WORD);
  return NaN;
}

/** has: 1 if present, ST_NOT_FOUND if not. */
export function contains(owner: u32, klen: u32): i32 {
  return read(owner, klen, false);
}

// ---- writes (under the shard lock) ----------------------------------------------

/** One write operation (OP_*) on the key in the owner's scratch, with the
 *  new value (vtype, vlen) in the value area and, for OP_CAS / OP_CAD, the
 *  expected value (eword = type << 24 | length) in the aux area. Returns
 *  ST_OK, a header word (a previous or loaded value, now in the aux area),
 *  ST_NOT_FOUND, ST_MISMATCH, ST_FULL, ST_BUSY or ST_BAD_ARG. */
export function write(token: u32, op: u32, klen: u32, vtype: u32, vlen: u32, eword: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  const owner = ownerId(token);
  const maxValue = load<u32>(hdr, HDR_MAX_VALUE);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY) || op > <u32>OP_CAD) return ST_BAD_ARG;
  const storing = op <= <u32>OP_CAS;
  if (storing && (vtype - T_UNDEFINED > <u32>(T_PACKED - T_UNDEFINED) || vlen > maxValue)) return ST_BAD_ARG;
  const comparing = op == <u32>OP_CAS || op == <u32>OP_CAD;
  if (comparing && ((eword >>> 24) - T_UNDEFINED > <u32>(T_PACKED - T_UNDEFINED) || (eword & 0xffffff) > maxValue)) return ST_BAD_ARG;
  const key = scratch + SCRATCH_KEY;
  const val = scratch + load<u32>(hdr, HDR_VALUE_OFF);
  const aux = scratch + load<u32>(hdr, HDR_AUX_OFF);
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const sh = shardOf(hdr, h);
  const lock = sh + SH_LOCK;
  if (!tryLock(lock, owner)) return busy(scratch, lock);
  const word = (vtype << 24) | vlen;
  const test = load<u32>(scratch, SCRATCH_TEST);
  if (test != 0) testFault(sh, scratch, test, key, klen, word, val, h); // TEST ONLY
  freeRetired(hdr, sh, owner); // a region left over when the allocator was busy
  const ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  let st: i32 = ST_OK;
  if (op == <u32>OP_STORE) {
    st = ref != 0 ? replace(hdr, sh, owner, ref, h, key, klen, word, val)
      : insert(hdr, sh, owner, h, key, klen, word, val);
  } else if (op == <u32>OP_LOAD_OR_STORE) {
    st = ref != 0 ? <i32>copyOut(ref, klen, aux) : insert(hdr, sh, owner, h, key, klen, word, val);
  } else if (op == <u32>OP_SWAP) {
    if (ref != 0) {
      const prev = <i32>copyOut(ref, klen, aux);
      st = replace(hdr, sh, owner, ref, h, key, klen, word, val);
      if (st == ST_OK) st = prev;
    } else {
      st = insert(hdr, sh, owner, h, key, klen, word, val);
    }
  } else if (ref == 0) {
    st = ST_NOT_FOUND;
  } else if (op == <u32>OP_CAS) {
    st = valueEquals(refEntry(ref), klen, eword, aux)
      ? replace(hdr, sh, owner, ref, h, key, klen, word, val) : ST_MISMATCH;
  } else if (op == <u32>OP_DELETE) {
    remove(hdr, sh, ref, klen);
  } else if (op == <u32>OP_LOAD_AND_DELETE) {
    st = <i32>copyOut(ref, klen, aux);
    remove(hdr, sh, ref, klen);
  } else { // OP_CAD
    if (valueEquals(refEntry(ref), klen, eword, aux)) remove(hdr, sh, ref, klen);
    else st = ST_MISMATCH;
  }
  unlock(lock);
  return st == ST_BUSY ? busy(scratch, hdr + HDR_ALLOC_LOCK) : st;
}

/** Empty one shard. ST_OK, ST_BUSY or ST_BAD_ARG. */
export function clearShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  const owner = ownerId(token);
  if (scratch == 0 || shard >= shardCount()) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  if (!tryLock(sh + SH_LOCK, owner)) return busy(scratch, sh + SH_LOCK);
  const n = load<u32>(sh, SH_COUNT);
  let st = rebuild(hdr, sh, owner, 0, 0, 0, false);
  if (st == ST_FULL) {
    // No room for a fresh region: empty this one in place.
    const t = tableLoad(sh);
    const groups = tableCount(t);
    seqBegin(sh);
    for (let g: u32 = 0; g < groups; g++) {
      v128.store(<usize>tableGroups(t) + (<usize>g << GROUP_SLOT_SHIFT), emptyGroupCtrl());
    }
    seqEnd(sh);
    store<u32>(sh, heapStartOf(t), SH_HEAP_TOP);
    store<u32>(sh, 0, SH_COUNT);
    store<u32>(sh, 0, SH_USED);
    store<u32>(sh, 0, SH_DEAD);
    st = ST_OK;
  }
  if (st == ST_OK) atomic.sub<u32>(hdr, n, HDR_COUNT);
  unlock(sh + SH_LOCK);
  return st == ST_BUSY ? busy(scratch, hdr + HDR_ALLOC_LOCK) : st;
}

// ---- iteration (a consistent copy of one shard, under its lock) -------------------

/** Take a shard's lock for iteration. ST_OK, ST_BUSY, ST_BAD_ARG. */
export function lockShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  const owner = ownerId(token);
  if (scratch == 0 || shard >= shardCount()) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  return tryLock(sh + SH_LOCK, owner) ? ST_OK : busy(scratch, sh + SH_LOCK);
}

export function unlockShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0 || shard >= shardCount()) return ST_BAD_ARG;
  const owner = ownerId(token);
  const sh = shardAt(hdr, shard);
  if (!holds(sh + SH_LOCK, owner)) return ST_BAD_ARG;
  unlock(sh + SH_LOCK);
  return ST_OK;
}

/** Copy the next entry of a shard locked with lockShard: key to the key
 *  area, value to the aux area, key length and header word to scratch words
 *  1 and 2. Returns the next cursor (start at 0), ST_NOT_FOUND at the end,
 *  ST_BAD_ARG if the owner does not hold the shard. */
export function next(token: u32, shard: u32, cursor: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  const owner = ownerId(token);
  if (scratch == 0 || shard >= shardCount()) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  if (!holds(sh + SH_LOCK, owner)) return ST_BAD_ARG;
  const r = entryAt(
    sh, cursor, scratch + SCRATCH_KEY, scratch + load<u32>(hdr, HDR_AUX_OFF),
    scratch + SCRATCH_KLEN, scratch + SCRATCH_WORD,
  );
  return r < 0 ? ST_NOT_FOUND : r;
}

// ---- test-only door ---------------------------------------------------------------

/** TEST ONLY: the fault a test asked for in scratch word SCRATCH_TEST, while
 *  holding the shard lock: 1 an abort, as a failed internal check would;
 *  2 a Wasm trap; 3 a trap in the middle of rewriting the key's inline
 *  entry with the new value (after the switch to the staging cell, as a
 *  writer stopped there would leave it), or a plain trap if the new entry
 *  or the old one is not inline. */
function testFault(
  sh: usize, scratch: usize, kind: u32, key: usize, klen: u32, word: u32, val: usize, h: u64,
): void {
  store<u32>(scratch, 0, SCRATCH_TEST);
  if (kind == 1) abort("test-induced abort", "assembly/index.ts", 1, 1);
  if (kind == 3) {
    const ref = find(tableLoad(sh), h, key, klen, memBytes(headerBase()));
    if (ref != 0 && !isOutline(ref) && entryBytes(klen, word & VLEN_MASK) <= CELL_BYTES) {
      seqBegin(sh);
      stageInline(sh, ref, key, klen, word, val);
    }
  }
  unreachable();
}

/** TEST ONLY (the torn-read detector's control): overwrite the value bytes
 *  of an existing key in place with `byte`, half at a time. protect = 1
 *  takes the lock and brackets the writes with the seqlock as every real
 *  write does; protect = 0 does neither, which readers must be able to see
 *  as torn values. ST_OK, ST_NOT_FOUND, ST_BUSY, ST_BAD_ARG. */
export function testOverwrite(token: u32, klen: u32, byte: u32, protect: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  const owner = ownerId(token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return ST_BAD_ARG;
  const key = scratch + SCRATCH_KEY;
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const sh = shardOf(hdr, h);
  if (protect != 0 && !tryLock(sh + SH_LOCK, owner)) return busy(scratch, sh + SH_LOCK);
  const ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  if (ref != 0) {
    const e = refEntry(ref);
    const vlen = load<u32>(e) & VLEN_MASK;
    const v = <usize>e + entryValueOffset(klen);
    if (protect != 0) seqBegin(sh);
    memory.fill(v, <u8>byte, vlen >>> 1);
    for (let i = 0; i < 64; i++) atomic.load<u32>(sh); // widen the window
    memory.fill(v + (vlen >>> 1), <u8>byte, vlen - (vlen >>> 1));
    if (protect != 0) seqEnd(sh);
  }
  if (protect != 0) unlock(sh + SH_LOCK);
  return ref != 0 ? ST_OK : ST_NOT_FOUND;
}

// ---- recovery (a dead owner, or this owner after a fault) --------------------------

/** Address of the first region: the allocator's lowest address. */
// @ts-ignore: decorator
@inline function allocBase(hdr: usize): u32 {
  return <u32>align64(<u64>load<u32>(hdr, HDR_DEBUG_RINGS) + <u64>shardCount() * ringBytes(load<u32>(hdr, HDR_DEBUG_ENTRIES)));
}

/** Start recovering owner id `victim` (another instance's, or the caller's
 *  own after a fault). If the victim holds the allocator lock, take it over
 *  and repair the allocator. ST_OK or ST_BAD_ARG. */
export function recoverBegin(token: u32, victim: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0 || victim - 1 >= load<u32>(hdr, HDR_MAX_OWNERS)) return ST_BAD_ARG;
  const word = hdr + HDR_ALLOC_LOCK;
  const v = atomic.load<u32>(word);
  if (lockOwner(v) == victim && atomic.cmpxchg<u32>(word, v, ownerId(token) | (v & LOCK_CONTENDED)) == v) {
    repairAllocator(hdr, allocBase(hdr));
    unlock(word);
  }
  return ST_OK;
}

/** Take shard `shard`'s lock for recovery: over from `victim` if it holds
 *  it (then repair the shard), else the normal way. The caller keeps it
 *  until recoverEnd. ST_OK, ST_BUSY or ST_BAD_ARG. */
export function recoverShard(token: u32, victim: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCount()) return ST_BAD_ARG;
  const self = ownerId(token);
  const sh = shardAt(hdr, shard);
  const word = sh + SH_LOCK;
  const v = atomic.load<u32>(word);
  if (lockOwner(v) == victim) {
    if (victim != self && atomic.cmpxchg<u32>(word, v, self | (v & LOCK_CONTENDED)) != v) return busy(scratch, word);
    repairShard(hdr, sh, self);
    return ST_OK;
  }
  if (lockOwner(v) == self) return ST_OK;
  return tryLock(word, self) ? ST_OK : busy(scratch, word);
}

/** Free a dead owner's slot and scratch area (its generation moves on, so
 *  its token is refused from now on). Call between recoverShard and
 *  recoverEnd, while holding every shard lock. ST_OK or ST_BAD_ARG. */
export function freeOwner(token: u32, victim: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0 || victim - 1 >= load<u32>(hdr, HDR_MAX_OWNERS)) return ST_BAD_ARG;
  const self = ownerId(token);
  if (victim == self) return ST_BAD_ARG;
  const slot = ownerSlot(hdr, victim);
  const s = atomic.load<u32>(slot, OWN_STATE);
  if ((s & 1) != 0 && atomic.cmpxchg<u32>(slot, s, s + 1, OWN_STATE) == s) {
    freeRegionWaiting(hdr, self, slot + OWN_SCRATCH, load<u32>(hdr, HDR_SCRATCH_BYTES));
  }
  return ST_OK;
}

/** Finish recovering: with every shard lock held by the caller, recompute
 *  the entry count, then release every shard lock. ST_OK or ST_BAD_ARG. */
export function recoverEnd(token: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0) return ST_BAD_ARG;
  const self = ownerId(token);
  const n = shardCount();
  for (let i: u32 = 0; i < n; i++) if (!holds(shardAt(hdr, i) + SH_LOCK, self)) return ST_BAD_ARG;
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += load<u32>(shardAt(hdr, i), SH_COUNT);
  atomic.store<u32>(hdr, total, HDR_COUNT);
  for (let i: u32 = 0; i < n; i++) unlock(shardAt(hdr, i) + SH_LOCK);
  return ST_OK;
}

/** Owner id holding shard `shard`'s lock now, 0 if free. */
export function shardLockOwner(shard: u32): u32 {
  if (shard >= shardCount()) return 0;
  return lockOwner(atomic.load<u32>(shardAt(headerBase(), shard), SH_LOCK));
}

/** Locks owner id `id` holds now: shards, plus 1 for the allocator. */
export function locksHeldBy(id: u32): u32 {
  const hdr = headerBase();
  let k: u32 = lockOwner(atomic.load<u32>(hdr, HDR_ALLOC_LOCK)) == id ? 1 : 0;
  const n = shardCount();
  for (let i: u32 = 0; i < n; i++) if (lockOwner(atomic.load<u32>(shardAt(hdr, i), SH_LOCK)) == id) k++;
  return k;
}

/** Is owner id `id` attached (its slot taken)? */
export function ownerAlive(id: u32): u32 {
  const hdr = headerBase();
  if (id - 1 >= load<u32>(hdr, HDR_MAX_OWNERS)) return 0;
  return atomic.load<u32>(ownerSlot(hdr, id), OWN_STATE) & 1;
}

/** TEST ONLY (hash flooding): the low 32 bits of the hash of the scratch
 *  key under another seed (0, 0 = unseeded), which pick the first group
 *  (see firstGroup). */
export function testHash(token: u32, klen: u32, seedLo: u32, seedHi: u32): u32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return 0;
  return <u32>hashKey(scratch + SCRATCH_KEY, klen, <u64>seedLo | (<u64>seedHi << 32));
}

/** Longest probe, in groups, that any key of a shard needs (1 = found in
 *  its first group). Walks the table; for tests and statistics. */
export function maxProbe(shard: u32): u32 {
  const hdr = headerBase();
  if (shard >= shardCount()) return 0;
  const sh = shardAt(hdr, shard);
  const t = tableLoad(sh);
  const n = tableCount(t);
  const seed = load<u64>(hdr, HDR_SEED);
  let worst: u32 = 0;
  for (let r = nextFull(t, 0); r != 0; r = nextFull(t, slotNumber(t, r) + 1)) {
    const g = slotNumber(t, r) >> GROUP_SLOT_SHIFT;
    const e = refEntry(r);
    let at = firstGroup(hashKey(<usize>e + E_KEY, <u32>load<u16>(e, E_KLEN), seed), n);
    let p: u32 = 0;
    while (at != g && p < n) {
      p++;
      at = nextGroup(at, n);
    }
    if (p + 1 > worst) worst = p + 1;
  }
  return worst;
}

/** Groups in a shard's table now (16 slots each). */
export function shardGroups(shard: u32): u32 {
  if (shard >= shardCount()) return 0;
  return tableCount(tableLoad(shardAt(headerBase(), shard)));
}

/** Consistency check of one shard that the owner has locked (lockShard):
 *  CHECK_OK or the first broken rule (CHECK_* in shared.ts), ST_BAD_ARG if
 *  the owner does not hold the shard. */
export function checkShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0 || shard >= shardCount()) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  if (!holds(sh + SH_LOCK, ownerId(token))) return ST_BAD_ARG;
  return <i32>checkShardLocked(hdr, sh);
}

/** Consistency check of the allocator, by an owner that holds every shard
 *  lock (so no region changes hands): CHECK_OK or the first broken rule,
 *  with the leaked bytes (neither free nor in use) in scratch word 2;
 *  ST_BUSY (allocator lock) or ST_BAD_ARG. */
export function checkAllocator(token: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0) return ST_BAD_ARG;
  const self = ownerId(token);
  const n = shardCount();
  for (let i: u32 = 0; i < n; i++) if (!holds(shardAt(hdr, i) + SH_LOCK, self)) return ST_BAD_ARG;
  const lock = hdr + HDR_ALLOC_LOCK;
  if (!tryLock(lock, self)) return busy(scratch, lock);
  const r = checkAllocatorLocked(
    hdr, allocBase(hdr), shardAt(hdr, 0), SH_BYTES, n, <usize>load<u32>(hdr, HDR_OWNERS), OWN_BYTES,
    scratch + SCRATCH_WORD,
  );
  unlock(lock);
  return <i32>r;
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

/** TEST ONLY: where the scratch key's entry is: 1 inline in its cell, 2 out
 *  of line in the heap, 0 absent (or a bad argument). No write may be in
 *  flight. */
export function cellForm(token: u32, klen: u32): u32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return 0;
  const key = scratch + SCRATCH_KEY;
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const ref = find(tableLoad(shardOf(hdr, h)), h, key, klen, memBytes(hdr));
  return ref == 0 ? 0 : isOutline(ref) ? 2 : 1;
}

// ---- debug ring (the *Logged exports are swapped in by the facade) -----------------

const RING_HEAD_BYTES: u32 = 16;
const RING_ENTRY_BYTES: u32 = 16;

// @ts-ignore: decorator
@inline function ringBytes(entries: u32): u64 {
  return entries == 0 ? 0 : align64(<u64>RING_HEAD_BYTES + <u64>entries * RING_ENTRY_BYTES);
}

/** Address of a shard's ring (n entries per ring). */
// @ts-ignore: decorator
@inline function ringAt(hdr: usize, shard: u32, n: u32): usize {
  return <usize>load<u32>(hdr, HDR_DEBUG_RINGS) + <usize>shard * <usize>ringBytes(n);
}

/** Append (op, hash, owner, result) to the ring of the key's shard. */
function logOp(token: u32, klen: u32, op: u32, result: i32): void {
  const hdr = headerBase();
  const n = load<u32>(hdr, HDR_DEBUG_ENTRIES);
  const scratch = ownerScratch(hdr, token);
  if (n == 0 || scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return;
  const h = hashKey(scratch + SCRATCH_KEY, klen, load<u64>(hdr, HDR_SEED));
  const ring = ringAt(hdr, <u32>(h >>> 32) & (shardCount() - 1), n);
  const seq = atomic.add<u32>(ring, 1) + 1;
  const e = ring + RING_HEAD_BYTES + <usize>((seq - 1) & (n - 1)) * RING_ENTRY_BYTES;
  store<u32>(e, op | (ownerId(token) << 8), 0);
  store<u32>(e, <u32>h, 4);
  store<i32>(e, result, 8);
  atomic.store<u32>(e, seq, 12);
}

export function getLogged(token: u32, klen: u32): i32 {
  const r = get(token, klen);
  logOp(token, klen, LOG_LOAD, r);
  return r;
}
export function getF64Logged(token: u32, klen: u32): f64 {
  const r = getF64(token, klen);
  const scratch = ownerScratch(headerBase(), token);
  logOp(token, klen, LOG_LOAD_NUMBER, scratch == 0 ? ST_BAD_ARG : load<i32>(scratch, SCRATCH_WORD));
  return r;
}
export function containsLogged(token: u32, klen: u32): i32 {
  const r = contains(token, klen);
  logOp(token, klen, LOG_HAS, r);
  return r;
}
export function writeLogged(token: u32, op: u32, klen: u32, vtype: u32, vlen: u32, eword: u32): i32 {
  const r = write(token, op, klen, vtype, vlen, eword);
  logOp(token, klen, op, r);
  return r;
}

/** Ring entries per shard (0: debug mode is off). */
export function debugEntries(): u32 {
  return load<u32>(headerBase(), HDR_DEBUG_ENTRIES);
}

/** Copy entry `i` (0 = oldest kept) of a shard's ring to the scratch at
 *  SCRATCH_DEBUG (op | owner << 8, hash, result, sequence). Returns how many entries
 *  the ring holds now (i beyond it: nothing copied), or ST_BAD_ARG. */
export function debugRead(token: u32, shard: u32, i: u32): i32 {
  const hdr = headerBase();
  const n = load<u32>(hdr, HDR_DEBUG_ENTRIES);
  const scratch = ownerScratch(hdr, token);
  if (n == 0 || scratch == 0 || shard >= shardCount()) return ST_BAD_ARG;
  const ring = ringAt(hdr, shard, n);
  const head = atomic.load<u32>(ring);
  const held = min(head, n);
  if (i < held) {
    const seq = head - held + i + 1;
    memory.copy(scratch + SCRATCH_DEBUG, ring + RING_HEAD_BYTES + <usize>((seq - 1) & (n - 1)) * RING_ENTRY_BYTES, RING_ENTRY_BYTES);
  }
  return <i32>held;
}
