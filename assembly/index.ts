// The release build's exports: the only way in. Each checks its arguments
// (owner token, lengths, op and type codes, shard numbers) and then calls
// the raw code, which trusts them. Status codes and encodings: shared.ts.
// Layout and protocol: the Overview in layout.ts. The test build (test.ts)
// adds test doors (doors.ts) to these.

import {
  headerBase, MAGIC, HDR_MAGIC, HDR_VERSION, HDR_SHARD_BITS, HDR_MAX_OWNERS, HDR_SEED,
  HDR_MAP_ID, HDR_MAX_KEY, HDR_MAX_VALUE, HDR_SCRATCH_BYTES, HDR_VALUE_OFF, HDR_AUX_OFF,
  HDR_MIN_GROUPS, HDR_OWNERS, HDR_SHARDS, HDR_ALLOC_TOP, HDR_MEM_BYTES, HDR_MAX_PAGES, HDR_COUNT,
  HDR_BYTES, HDR_ALLOC_LOCK, HDR_DEBUG_ENTRIES, HDR_DEBUG_RINGS, HDR_FAULTS, HDR_ALLOC_BASE, HDR_CACHE,
  HDR_TTL, HDR_MAX_ENTRIES, HDR_MAX_BYTES, HDR_FLIGHTS, HDR_FLIGHT_EPOCH, SH_LIVE_BYTES,
  OWN_BYTES, SH_LOCK, SH_COUNT, SH_USED, SH_HEAP_TOP, SH_DEAD, SH_BYTES, SH_REGION_BYTES,
  GROUP_SLOTS, E_KLEN, E_KEY, LOAD_NUM_MIN, LOAD_DEN, MAX_PROBE_GROUPS, align8, align64, firstGroup, nextGroup,
  shardAt, shardCountOf, shardIndexOfHash, shardOfHash, slotGroup, FLIGHT_SLOTS,
} from "./layout";
import {
  LAYOUT_VERSION, PAGE_BYTES, ST_OK, ST_NOT_FOUND, ST_FULL, ST_BUSY, ST_BAD_ARG, ST_BAD_LAYOUT,
  T_UNDEFINED, T_F64, T_PACKED, OP_CAS, OP_CAD, SCRATCH_KLEN, SCRATCH_WORD, SCRATCH_KEY, SCRATCH_EXPIRY,
  CACHE_ON, MAX_CACHE_VALUE_BYTES, VTYPE_MASK, FLIGHT_FREE, FLIGHT_EMPTY, FLIGHT_FAILED,
  SCRATCH_DEBUG, SCRATCH_STATS, STAT_SLOTS, STAT_ENTRIES, STAT_TOMBSTONES, STAT_REGION_BYTES,
  STAT_HEAP_LIVE, STAT_HEAP_DEAD, STAT_MAX_PROBE, MAX_KEY_BYTES_LIMIT, MAX_VALUE_BYTES_LIMIT,
  MAX_SHARDS, MAX_OWNERS, MAX_DEBUG_ENTRIES, LOG_LOAD, LOG_HAS, LOG_LOAD_NUMBER, COUNTERS, BATCH_RECORD_SHIFT,
} from "./shared";
import { TEST } from "./build";
import { CTRL_DELETED, countByte } from "./ctrl";
import { hashKey } from "./hash";
import { tableLoad, tryLock, takeOver, unlock, holder, holds, busy } from "./sync";
import { tableCtrl, tableGroupCount, valueWord, vtypeOf, vlenOf, tokenId, hasMeta } from "./words";
import { cacheOn, cacheAreaBytes, initCacheShard, cleared, purgeShard } from "./cache";
import { flightTableBytes, flightBeginLocked, flightEndLocked, flightWatchLocked, flightNudge, flightLock } from "./flights";
import { heapStartOf, refEntry, firstFull, nextFullAfter, fullFrom, slotNumber, isOutline } from "./cells";
import { readKey, readBatch, memBytes, copyTagged } from "./reader";
import { applyWrite, copyOut } from "./writer";
import { rebuild, emptyInPlace, freeRetired } from "./resize";
import { allocatedBytes, MAX_PAGES } from "./alloc";
import { repairShard, repairAllocator } from "./recover";
import { checkShardLocked, checkAllocatorLocked } from "./check";
import {
  ownerScratch, validId, idAlive, claimOwner, detachOwner, freeDeadOwner, threadOf, aliveCount,
} from "./owners";
import { ringBytes, logOp, readRecord } from "./ring";
import { counterTotal } from "./counters";
import { testFault } from "./doors";



/** A guess of the average heap bytes per entry, to size the heaps for
 *  initialCapacity: entries that fit a cell take none, longer ones 40 or
 *  more; 16 assumes most are short (a heap that is too small grows). */
const INITIAL_ENTRY_BYTES: u32 = 16;
/** Owner id used while `init` builds the shards (no owner is attached yet). */
const INIT_OWNER: u32 = 1;

// ---- lifecycle ----------------------------------------------------------------

/** Lay out a new map in a fresh memory, growing it as needed. The facade
 *  checked the options; these checks only keep the layout sound. A cache
 *  map (cacheFlags CACHE_ON) has per-shard shares of `maxEntries` and
 *  `maxBytes` (0 = no bound) and, with a bound, its shards' queues, ghost
 *  tables and sketches laid out after the debug rings. ST_OK, ST_BAD_ARG,
 *  ST_FULL (maxPages cannot hold the fixed layout and the shards' first
 *  tables). */
export function init(
  shardBits: u32, maxOwners: u32, seedLo: u32, seedHi: u32, idLo: u32, idHi: u32,
  maxKey: u32, maxValue: u32, perShard: u32, maxPages: u32, debugEntries: u32,
  cacheFlags: u32, maxEntries: u32, maxBytes: u32, ttl: f64,
): i32 {
  const hdr = headerBase();
  if (atomic.load<u32>(hdr, HDR_MAGIC) != 0) return ST_BAD_ARG;
  if ((<u32>1 << shardBits) > <u32>MAX_SHARDS || maxOwners - 1 >= <u32>MAX_OWNERS) return ST_BAD_ARG;
  if (maxKey - 1 >= <u32>MAX_KEY_BYTES_LIMIT || maxValue < 8 || maxValue > <u32>MAX_VALUE_BYTES_LIMIT) return ST_BAD_ARG;
  if (maxPages > MAX_PAGES || <u32>memory.size() > maxPages) return ST_BAD_ARG;
  if (debugEntries > <u32>MAX_DEBUG_ENTRIES || (debugEntries & (debugEntries - 1)) != 0) return ST_BAD_ARG;
  const cache = (cacheFlags & CACHE_ON) != 0;
  if (cacheFlags > <u32>CACHE_ON || (!cache && (maxEntries | maxBytes) != 0)) return ST_BAD_ARG;
  if (cache && maxValue > <u32>MAX_CACHE_VALUE_BYTES) return ST_BAD_ARG;
  const shardCount = <u32>1 << shardBits;
  const owners = align64(<u64>hdr + HDR_BYTES);
  const shards = align64(owners + <u64>maxOwners * OWN_BYTES);
  const rings = align64(shards + <u64>shardCount * SH_BYTES);
  const areas = align64(rings + <u64>shardCount * ringBytes(debugEntries));
  let base = areas;
  if (cache) for (let i: u32 = 0; i < shardCount; i++) base += cacheAreaBytes(maxEntries, maxBytes, shardCount, i);
  const flights = base;
  if (cache) base = align64(base + flightTableBytes());
  if (base > <u64>MAX_PAGES * PAGE_BYTES) return ST_FULL;
  // Grow the memory to hold the fixed part; the allocator grows it further.
  const havePages = <u32>memory.size();
  const needPages = <u32>((base + PAGE_BYTES - 1) / PAGE_BYTES);
  if (needPages > maxPages) return ST_FULL;
  if (needPages > havePages && memory.grow(<i32>(needPages - havePages)) < 0) return ST_FULL;
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
  store<u32>(hdr, <u32>owners, HDR_OWNERS);
  store<u32>(hdr, <u32>shards, HDR_SHARDS);
  store<u32>(hdr, <u32>base, HDR_ALLOC_TOP);
  store<u32>(hdr, <u32>base, HDR_ALLOC_BASE);
  store<u32>(hdr, <u32>memory.size() * PAGE_BYTES, HDR_MEM_BYTES);
  store<u32>(hdr, maxPages, HDR_MAX_PAGES);
  store<u32>(hdr, debugEntries, HDR_DEBUG_ENTRIES);
  store<u32>(hdr, <u32>rings, HDR_DEBUG_RINGS);
  store<u32>(hdr, cacheFlags, HDR_CACHE);
  if (cache) {
    store<f64>(hdr, ttl, HDR_TTL);
    store<u32>(hdr, maxEntries, HDR_MAX_ENTRIES);
    store<u32>(hdr, maxBytes, HDR_MAX_BYTES);
    store<u32>(hdr, <u32>flights, HDR_FLIGHTS);
    // The fresh memory is zeroed: empty rings, ghost tables and sketches.
    let area = areas;
    for (let i: u32 = 0; i < shardCount; i++) {
      initCacheShard(shardAt(hdr, i), <usize>area, maxEntries, maxBytes, shardCount, i);
      area += cacheAreaBytes(maxEntries, maxBytes, shardCount, i);
    }
  }
  // Groups for perShard entries at the max load: no resize until then.
  const perGroup = <u64>GROUP_SLOTS * LOAD_NUM_MIN;
  const minGroups = <u32>max(<u64>1, (<u64>perShard * LOAD_DEN + perGroup - 1) / perGroup);
  store<u32>(hdr, minGroups, HDR_MIN_GROUPS);
  const heap = <u32>min(<u64>perShard * INITIAL_ENTRY_BYTES, <u64>0x7fffffff);
  for (let i: u32 = 0; i < (<u32>1 << shardBits); i++) {
    const st = rebuild(hdr, shardAt(hdr, i), INIT_OWNER, 0, heap, minGroups, false);
    if (st != ST_OK) return st;
  }
  atomic.store<u32>(hdr, MAGIC, HDR_MAGIC); // publishes the map
  return ST_OK;
}

/** Is this memory a map of this layout, with this id? ST_OK, ST_BAD_LAYOUT,
 *  ST_BAD_ARG (another map). */
export function checkLayout(idLo: u32, idHi: u32): i32 {
  const hdr = headerBase();
  if (<u64>memory.size() * PAGE_BYTES < <u64>hdr + HDR_BYTES) return ST_BAD_LAYOUT;
  if (atomic.load<u32>(hdr, HDR_MAGIC) != MAGIC) return ST_BAD_LAYOUT;
  if (load<u32>(hdr, HDR_VERSION) != LAYOUT_VERSION) return ST_BAD_LAYOUT;
  if (load<u64>(hdr, HDR_MAP_ID) != (<u64>idLo | (<u64>idHi << 32))) return ST_BAD_ARG;
  return ST_OK;
}

/** Claim an owner slot and its scratch area for thread `thread` (its id +
 *  1; 0 if unknown). Owner token > 0, or ST_NO_OWNER, ST_FULL, ST_BUSY
 *  (allocator; the busy word is not reported: wait on allocLockAddress). */
export function attach(thread: u32): i32 {
  return claimOwner(headerBase(), thread);
}

/** Release this owner's slot and scratch. ST_OK, ST_BAD_ARG, ST_BUSY. */
export function detach(token: u32): i32 {
  return detachOwner(headerBase(), token);
}

/** Does nothing: the benchmark's measure of one JS -> Wasm call. */
export function nop(): void {}

// ---- facts the facade reads once --------------------------------------------------

export function scratchOf(token: u32): u32 {
  return <u32>ownerScratch(headerBase(), token);
}
export function shardCount(): u32 {
  return shardCountOf(headerBase());
}
export function maxKeyBytes(): u32 {
  return load<u32>(headerBase(), HDR_MAX_KEY);
}
/** Half `hi` (0: low, 1: high word) of the 64-bit hash seed: a snapshot
 *  records it, so that the map it restores to lays its entries out in the
 *  order the file holds them (src/core/snapshot.ts: 2x faster). */
export function hashSeed(hi: u32): u32 {
  return <u32>(load<u64>(headerBase(), HDR_SEED) >> (hi != 0 ? 32 : 0));
}
export function maxValueBytes(): u32 {
  return load<u32>(headerBase(), HDR_MAX_VALUE);
}
export function maxOwners(): u32 {
  return load<u32>(headerBase(), HDR_MAX_OWNERS);
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
/** Which lock a busy word address names: a shard index, or -1 for the
 *  allocator (or an address that is no lock). */
export function lockShardIndex(addr: u32): i32 {
  const hdr = headerBase();
  const first = <u32>shardAt(hdr, 0) + SH_LOCK;
  if (addr < first || (addr - first) % SH_BYTES != 0) return -1;
  const i = (addr - first) / SH_BYTES;
  return i < shardCountOf(hdr) ? <i32>i : -1;
}

// ---- statistics -------------------------------------------------------------------

/** Live entries in the whole map: O(1). */
export function size(): u32 {
  return atomic.load<u32>(headerBase(), HDR_COUNT);
}
/** The map's total of counter `i` (CNT_*): retired counts plus every
 *  attached instance's. NaN for an unknown counter. */
export function counter(i: u32): f64 {
  return i < <u32>COUNTERS ? counterTotal(headerBase(), i) : NaN;
}
/** Bytes of the memory handed out to the header, scratch areas and shards. */
export function usedBytes(): u32 {
  return allocatedBytes(headerBase());
}
/** Bytes the memory holds now (all agents see the same). */
export function committedBytes(): u32 {
  return <u32>memBytes(headerBase());
}
/** Statistics of a shard that the owner has locked (lockShard), written to
 *  its scratch at SCRATCH_STATS (STAT_*). ST_OK or ST_BAD_ARG. */
export function shardStats(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  if (!holds(sh + SH_LOCK, tokenId(token))) return ST_BAD_ARG;
  const t = tableLoad(sh);
  const n = tableGroupCount(t);
  const seed = load<u64>(hdr, HDR_SEED);
  let worst: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    const e = refEntry(r);
    let at = firstGroup(hashKey(<usize>e + E_KEY, <u32>load<u16>(e, E_KLEN), seed), n);
    const g = slotGroup(slotNumber(t, r));
    let p: u32 = 1;
    while (at != g && p <= MAX_PROBE_GROUPS) {
      at = nextGroup(at, p, n);
      p++;
    }
    if (p > worst) worst = p;
  }
  const top = load<u32>(sh, SH_HEAP_TOP);
  const dead = load<u32>(sh, SH_DEAD);
  const out = scratch + SCRATCH_STATS;
  store<u32>(out + STAT_SLOTS, n * GROUP_SLOTS);
  store<u32>(out + STAT_ENTRIES, load<u32>(sh, SH_COUNT));
  store<u32>(out + STAT_TOMBSTONES, countByte(tableCtrl(t), n, CTRL_DELETED));
  store<u32>(out + STAT_REGION_BYTES, load<u32>(sh, SH_REGION_BYTES));
  store<u32>(out + STAT_HEAP_LIVE, top - heapStartOf(t) - dead);
  store<u32>(out + STAT_HEAP_DEAD, dead);
  store<u32>(out + STAT_MAX_PROBE, worst);
  return ST_OK;
}

// ---- reads (lock-free) --------------------------------------------------------

/** read() for a token: its scratch area checked, then readKey. */
// @ts-ignore: decorator
@inline function read(token: u32, klen: u32, copy: bool): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return ST_BAD_ARG;
  return readKey(hdr, scratch, tokenId(token), klen, copy);
}

/** load: the value's word (bytes in the aux area) or ST_NOT_FOUND,
 *  ST_BUSY (fell back to the lock and it is held), ST_BAD_ARG. Hot path. */
export function loadValue(token: u32, klen: u32): i32 {
  return read(token, klen, true);
}

/** loadNumber's path: the stored f64, or NaN with the status (what `loadValue`
 *  returns: a value word, ST_NOT_FOUND, ST_BUSY...) in scratch word 2.
 *  A stored NaN also returns NaN: the caller tells them apart by the word. */
export function loadNumber(token: u32, klen: u32): f64 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0) return NaN; // the caller finds ST_BAD_ARG by asking again
  const w = klen - 1 >= load<u32>(hdr, HDR_MAX_KEY) ? ST_BAD_ARG : readKey(hdr, scratch, tokenId(token), klen, true);
  // A cache entry's number only if it does not expire (the facade checks
  // expiries with its clock).
  if (w > 0 && (vtypeOf(<u32>w) & VTYPE_MASK) == <u32>T_F64 && (!hasMeta(<u32>w) || load<f64>(scratch, SCRATCH_EXPIRY) == 0)) {
    const v = load<f64>(scratch + load<u32>(hdr, HDR_AUX_OFF));
    if (v == v) return v; // a stored NaN goes the slow way, with its word
  }
  store<i32>(scratch, w, SCRATCH_WORD);
  return NaN;
}

/** After a `loadValue` that tagged its value (SCRATCH_TAG_ADDR != 0): copy the
 *  tagged value (`vlen` bytes) to the aux area, if it is still the shard's
 *  (see reader.ts). ST_OK, ST_STALE (get again), ST_BUSY, ST_BAD_ARG. */
export function copyTaggedValue(token: u32, shard: u32, addr: u32, epoch: u32, vlen: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr) || vlen > load<u32>(hdr, HDR_MAX_VALUE)) return ST_BAD_ARG;
  return copyTagged(
    hdr, scratch, tokenId(token), shardAt(hdr, shard), addr, epoch, vlen, scratch + load<u32>(hdr, HDR_AUX_OFF),
  );
}

/** Read `n` keys at once (keys in the value area, records in the aux area:
 *  see BATCH_* in shared.ts and readBatch in reader.ts), from record
 *  `start` on; numbers = 1 for f64 results. Returns how many records are
 *  done (n, or fewer with the reason in scratch word 2), or ST_BAD_ARG. */
export function getMany(token: u32, n: u32, start: u32, numbers: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || start > n || (<u64>n << BATCH_RECORD_SHIFT) > <u64>load<u32>(hdr, HDR_MAX_VALUE)) return ST_BAD_ARG;
  // The keys must parse inside the value area, each of a valid length.
  if (start == 0) {
    const keys = scratch + load<u32>(hdr, HDR_VALUE_OFF);
    const end = keys + load<u32>(hdr, HDR_MAX_VALUE);
    const maxKey = load<u32>(hdr, HDR_MAX_KEY);
    let p = keys;
    for (let i: u32 = 0; i < n; i++) {
      if (p + 2 > end) return ST_BAD_ARG;
      const klen = <u32>load<u16>(p);
      if (klen - 1 >= maxKey || p + 2 + klen > end) return ST_BAD_ARG;
      p += 2 + klen;
    }
  }
  return <i32>readBatch(hdr, scratch, tokenId(token), n, start, numbers != 0);
}

/** has: 1 if present, ST_NOT_FOUND if not (or ST_BUSY, ST_BAD_ARG). */
export function has(token: u32, klen: u32): i32 {
  return read(token, klen, false);
}

// ---- writes (under the shard lock) ----------------------------------------------

/** Is `w` a value word the facade may hand in (a known type, a length
 *  within maxValue)? */
// @ts-ignore: decorator
@inline function validWord(w: u32, maxValue: u32): bool {
  return vtypeOf(w) - T_UNDEFINED <= <u32>(T_PACKED - T_UNDEFINED) && vlenOf(w) <= maxValue;
}

/** One write operation (OP_*) on the key in the owner's scratch, with the
 *  new value (vtype, vlen) in the value area and, for OP_CAS / OP_CAD, the
 *  expected value (its word `eword`) in the aux area. Returns ST_OK, a
 *  value word (a previous or loaded value, now in the aux area),
 *  ST_NOT_FOUND, ST_MISMATCH, ST_FULL, ST_BUSY or ST_BAD_ARG. */
export function write(token: u32, op: u32, klen: u32, vtype: u32, vlen: u32, eword: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  const maxValue = load<u32>(hdr, HDR_MAX_VALUE);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY) || op > <u32>OP_CAD) return ST_BAD_ARG;
  if (op <= <u32>OP_CAS && (vtype - T_UNDEFINED > <u32>(T_PACKED - T_UNDEFINED) || vlen > maxValue)) return ST_BAD_ARG;
  const word = valueWord(vtype, vlen);
  if ((op == <u32>OP_CAS || op == <u32>OP_CAD) && !validWord(eword, maxValue)) return ST_BAD_ARG;
  const id = tokenId(token);
  const key = scratch + SCRATCH_KEY;
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const sh = shardOfHash(hdr, h);
  const lock = sh + SH_LOCK;
  if (!tryLock(lock, id)) return busy(scratch, lock);
  const val = scratch + load<u32>(hdr, HDR_VALUE_OFF);
  if (TEST) testFault(hdr, sh, scratch, key, klen, word, val, h);
  freeRetired(hdr, sh, id); // a region left over when the allocator was busy
  const st = applyWrite(hdr, sh, id, op, h, key, klen, word, val, eword, scratch + load<u32>(hdr, HDR_AUX_OFF), scratch);
  unlock(lock);
  return st == ST_BUSY ? busy(scratch, hdr + HDR_ALLOC_LOCK) : st;
}

/** Empty one shard. ST_OK, ST_BUSY or ST_BAD_ARG. */
export function clearShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  const id = tokenId(token);
  const sh = shardAt(hdr, shard);
  if (!tryLock(sh + SH_LOCK, id)) return busy(scratch, sh + SH_LOCK);
  const n = load<u32>(sh, SH_COUNT);
  let st = rebuild(hdr, sh, id, 0, 0, 0, false);
  if (st == ST_FULL) {
    // No room for a fresh region: empty this one in place.
    emptyInPlace(hdr, sh);
    st = ST_OK;
  }
  if (st == ST_OK) {
    atomic.sub<u32>(hdr, n, HDR_COUNT);
    if (cacheOn(hdr)) cleared(sh);
  }
  unlock(sh + SH_LOCK);
  return st == ST_BUSY ? busy(scratch, hdr + HDR_ALLOC_LOCK) : st;
}

/** Cache maps: drop every entry of a shard that expired at `now` (ms since
 *  the Unix epoch). The number dropped, ST_BUSY or ST_BAD_ARG. */
export function purgeShardExpired(token: u32, shard: u32, now: f64): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr) || !cacheOn(hdr) || !(now > 0)) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  if (!tryLock(sh + SH_LOCK, tokenId(token))) return busy(scratch, sh + SH_LOCK);
  const n = purgeShard(hdr, sh, scratch, now);
  unlock(sh + SH_LOCK);
  return <i32>n;
}

/** Cache maps: the key + value bytes of all live entries (what maxBytes
 *  bounds): racy per-shard counts, exact when no write is in flight. */
export function cacheBytes(): f64 {
  const hdr = headerBase();
  const n = shardCountOf(hdr);
  let total: f64 = 0;
  for (let i: u32 = 0; i < n; i++) total += <f64>load<u32>(shardAt(hdr, i), SH_LIVE_BYTES);
  return total;
}

/** Cache maps: the bounds and default ttl given at create (0 = none). */
export function cacheMaxEntries(): u32 {
  return load<u32>(headerBase(), HDR_MAX_ENTRIES);
}
export function cacheMaxBytes(): u32 {
  return load<u32>(headerBase(), HDR_MAX_BYTES);
}
export function cacheTtl(): f64 {
  return load<f64>(headerBase(), HDR_TTL);
}

// ---- fetch's flights (cache maps; flights.ts) --------------------------------------

/** The flight table's prologue: a live token of a cache map; 0 if not. */
// @ts-ignore: decorator
@inline function flightScratch(hdr: usize, token: u32): usize {
  return load<u32>(hdr, HDR_FLIGHTS) == 0 ? 0 : ownerScratch(hdr, token);
}

/** Begin or join the load of the key in the owner's scratch (see
 *  flightBeginLocked): FLIGHT_LEAD or FLIGHT_WAIT (slot and sequence in
 *  scratch words 2 and 1), ST_FULL (every slot in flight), ST_BUSY (the
 *  flight lock), ST_BAD_ARG. `now` and `deadline`: ms since the epoch. */
export function flightBegin(token: u32, klen: u32, now: f64, deadline: f64): i32 {
  const hdr = headerBase();
  const scratch = flightScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY) || !(now > 0) || !(deadline > 0)) return ST_BAD_ARG;
  const lock = flightLock(hdr);
  if (!tryLock(lock, tokenId(token))) return busy(scratch, lock);
  const h = hashKey(scratch + SCRATCH_KEY, klen, load<u64>(hdr, HDR_SEED));
  const r = flightBeginLocked(hdr, scratch, token, h, now, deadline);
  unlock(lock);
  return r;
}

/** End the flight (slot, seq) this owner leads with `outcome` (FLIGHT_FREE,
 *  FLIGHT_EMPTY or FLIGHT_FAILED with `msgLen` bytes of message in the
 *  value area). ST_OK, ST_MISMATCH (taken over meanwhile), ST_BUSY,
 *  ST_BAD_ARG. */
export function flightEnd(token: u32, slot: u32, seq: u32, outcome: u32, msgLen: u32): i32 {
  const hdr = headerBase();
  const scratch = flightScratch(hdr, token);
  if (scratch == 0 || slot >= FLIGHT_SLOTS || msgLen > load<u32>(hdr, HDR_MAX_VALUE)) return ST_BAD_ARG;
  if (outcome != FLIGHT_FREE && outcome != FLIGHT_EMPTY && outcome != FLIGHT_FAILED) return ST_BAD_ARG;
  const lock = flightLock(hdr);
  if (!tryLock(lock, tokenId(token))) return busy(scratch, lock);
  const r = flightEndLocked(hdr, token, slot, seq, outcome, scratch + load<u32>(hdr, HDR_VALUE_OFF), msgLen);
  unlock(lock);
  return r;
}

/** How flight (slot, seq) stands (see flightWatchLocked; a failure's
 *  message goes to the aux area). A FLIGHT_* code, ST_BUSY, ST_BAD_ARG. */
export function flightWatch(token: u32, slot: u32, seq: u32, now: f64): i32 {
  const hdr = headerBase();
  const scratch = flightScratch(hdr, token);
  if (scratch == 0 || slot >= FLIGHT_SLOTS) return ST_BAD_ARG;
  const lock = flightLock(hdr);
  if (!tryLock(lock, tokenId(token))) return busy(scratch, lock);
  const r = flightWatchLocked(hdr, scratch, slot, seq, now, scratch + load<u32>(hdr, HDR_AUX_OFF));
  unlock(lock);
  return r;
}

/** Byte address of the word flight waiters sleep on (bumped by every end
 *  and release). */
export function flightEpochAddress(): u32 {
  return <u32>(headerBase() + HDR_FLIGHT_EPOCH);
}

/** Byte address of the map's HDR_CACHE word (CACHE_* flags; 0 for a plain
 *  map): the facade reads it before a write to know whether to pass the
 *  time. */
export function cacheFlagsAddress(): u32 {
  return <u32>(headerBase() + HDR_CACHE);
}

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
  const scratch = ownerScratch(hdr, token);
  const t = tableLoad(sh);
  const r = fullFrom(t, cursor);
  if (r == 0) return ST_NOT_FOUND;
  const e = refEntry(r);
  const klen = <u32>load<u16>(e, E_KLEN);
  memory.copy(scratch + SCRATCH_KEY, <usize>e + E_KEY, klen);
  store<u32>(scratch + SCRATCH_KLEN, klen);
  store<u32>(scratch + SCRATCH_WORD, copyOut(r, klen, scratch + load<u32>(hdr, HDR_AUX_OFF), scratch + SCRATCH_EXPIRY));
  return <i32>(slotNumber(t, r) + 1);
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
  const lock = hdr + HDR_ALLOC_LOCK;
  if (!tryLock(lock, tokenId(token))) return busy(scratch, lock);
  const r = checkAllocatorLocked(hdr, scratch + SCRATCH_WORD);
  unlock(lock);
  return <i32>r;
}

/** Does owner id `id` hold every shard lock? */
function holdsAll(hdr: usize, id: u32): bool {
  const n = shardCountOf(hdr);
  for (let i: u32 = 0; i < n; i++) if (!holds(shardAt(hdr, i) + SH_LOCK, id)) return false;
  return true;
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
  const word = hdr + HDR_ALLOC_LOCK;
  if (victim == tokenId(token) ? holds(word, victim) : takeOver(word, victim, tokenId(token))) {
    repairAllocator(hdr, load<u32>(hdr, HDR_ALLOC_BASE));
    unlock(word);
  }
  // The flight lock: its slots are sound at every instruction (flights.ts).
  const fl = flightLock(hdr);
  if (victim == tokenId(token) ? holds(fl, victim) : takeOver(fl, victim, tokenId(token))) unlock(fl);
  return ST_OK;
}

/** Take shard `shard`'s lock for recovery: over from `victim` if it holds
 *  it (then repair the shard), else the normal way. The caller keeps it
 *  until recoverEnd. ST_OK, ST_BUSY or ST_BAD_ARG. */
export function recoverShard(token: u32, victim: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  const self = tokenId(token);
  const word = shardAt(hdr, shard) + SH_LOCK;
  const h = holder(word);
  if (h == victim) {
    if (victim != self && !takeOver(word, victim, self)) return busy(scratch, word);
    repairShard(hdr, shardAt(hdr, shard), self);
    return ST_OK;
  }
  if (h == self) return ST_OK;
  return tryLock(word, self) ? ST_OK : busy(scratch, word);
}

/** Free a dead owner's slot and scratch area (its generation moves on, so
 *  its token is refused from now on). Call between recoverShard and
 *  recoverEnd, while holding every shard lock. ST_OK or ST_BAD_ARG. */
export function freeOwner(token: u32, victim: u32): i32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0 || !validId(hdr, victim) || victim == tokenId(token)) return ST_BAD_ARG;
  freeDeadOwner(hdr, tokenId(token), victim);
  // Its flights' waiters look again: they take over from a leader gone.
  if (load<u32>(hdr, HDR_FLIGHTS) != 0) flightNudge(hdr);
  return ST_OK;
}

/** Finish recovering: with every shard lock held by the caller, recompute
 *  the entry count, then release every shard lock. ST_OK or ST_BAD_ARG. */
export function recoverEnd(token: u32): i32 {
  const hdr = headerBase();
  const self = tokenId(token);
  if (ownerScratch(hdr, token) == 0 || !holdsAll(hdr, self)) return ST_BAD_ARG;
  const n = shardCountOf(hdr);
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += load<u32>(shardAt(hdr, i), SH_COUNT);
  atomic.store<u32>(hdr, total, HDR_COUNT);
  for (let i: u32 = 0; i < n; i++) unlock(shardAt(hdr, i) + SH_LOCK);
  return ST_OK;
}

/** Owner id holding shard `shard`'s lock now, 0 if free. */
export function shardLockOwner(shard: u32): u32 {
  const hdr = headerBase();
  return shard < shardCountOf(hdr) ? holder(shardAt(hdr, shard) + SH_LOCK) : 0;
}

/** Locks owner id `id` holds now: shards, plus 1 for the allocator. */
export function locksHeldBy(id: u32): u32 {
  const hdr = headerBase();
  let k: u32 = holder(hdr + HDR_ALLOC_LOCK) == id ? 1 : 0;
  const n = shardCountOf(hdr);
  for (let i: u32 = 0; i < n; i++) if (holder(shardAt(hdr, i) + SH_LOCK) == id) k++;
  return k;
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

// ---- debug ring (the *Logged exports are swapped in by the facade) -----------------

/** Log one operation on the scratch key to its shard's ring. */
function logKey(token: u32, klen: u32, op: u32, result: i32): void {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return;
  const h = hashKey(scratch + SCRATCH_KEY, klen, load<u64>(hdr, HDR_SEED));
  logOp(hdr, shardIndexOfHash(hdr, h), op, tokenId(token), <u32>h, result);
}

export function loadValueLogged(token: u32, klen: u32): i32 {
  const r = loadValue(token, klen);
  logKey(token, klen, LOG_LOAD, r);
  return r;
}
export function loadNumberLogged(token: u32, klen: u32): f64 {
  const r = loadNumber(token, klen);
  const scratch = ownerScratch(headerBase(), token);
  logKey(token, klen, LOG_LOAD_NUMBER, scratch == 0 ? ST_BAD_ARG : load<i32>(scratch, SCRATCH_WORD));
  return r;
}
export function hasLogged(token: u32, klen: u32): i32 {
  const r = has(token, klen);
  logKey(token, klen, LOG_HAS, r);
  return r;
}
export function writeLogged(token: u32, op: u32, klen: u32, vtype: u32, vlen: u32, eword: u32): i32 {
  const r = write(token, op, klen, vtype, vlen, eword);
  logKey(token, klen, op, r);
  return r;
}

/** Ring records per shard (0: debug mode is off). */
export function debugEntries(): u32 {
  return load<u32>(headerBase(), HDR_DEBUG_ENTRIES);
}

/** Copy record `i` (0 = oldest kept) of a shard's ring to the scratch at
 *  SCRATCH_DEBUG. Returns how many records the ring holds now (i beyond
 *  it: nothing copied), or ST_BAD_ARG. */
export function debugRead(token: u32, shard: u32, i: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (load<u32>(hdr, HDR_DEBUG_ENTRIES) == 0 || scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  return <i32>readRecord(hdr, shard, i, scratch + SCRATCH_DEBUG);
}
