// The release build's exports: the only way in. Each checks its arguments
// (owner token, lengths, op and type codes, shard numbers, which locks the
// caller must hold) and makes one call into the core, which trusts them.
// A call that runs under a lock takes it itself and, when it is held,
// returns ST_BUSY with the lock's word in the scratch for the facade to
// wait on (sync.ts: busy). The maintenance exports (shard locks,
// iteration, checks, statistics, recovery) are admin.ts's, re-exported
// here, so this file and admin.ts together are the export list. Status
// codes and encodings: shared.ts. Layout and protocol: overview.ts. The
// test build (test.ts) adds the test doors (doors.ts).

import {
  headerBase, MAGIC, HDR_MAGIC, HDR_VERSION, HDR_MAX_OWNERS, HDR_MAP_ID, HDR_MAX_KEY, HDR_MAX_VALUE, HDR_VALUE_OFF, HDR_SEED,
  HDR_AUX_OFF, HDR_COUNT, HDR_BYTES, HDR_ALLOC_LOCK, HDR_DEBUG_ENTRIES, HDR_CACHE, HDR_TTL, HDR_MAX_ENTRIES,
  HDR_MAX_BYTES, HDR_FLIGHTS, HDR_FLIGHT_EPOCH, HDR_RECORDS, SH_LOCK, SH_BYTES, OWN_STATE, shardAt, shardCountOf,
  ownerSlot, FLIGHT_SLOTS,
} from "./layout";
import {
  LAYOUT_VERSION, PAGE_BYTES, ST_OK, ST_BAD_ARG, ST_BAD_LAYOUT, T_UNDEFINED, T_LAST, OP_CAS, OP_CAD, SCRATCH_WORD,
  CACHE_ON, MAX_CACHE_VALUE_BYTES, FLIGHT_FREE, FLIGHT_EMPTY, FLIGHT_FAILED, MAX_KEY_BYTES_LIMIT,
  MAX_VALUE_BYTES_LIMIT, MAX_SHARDS, MAX_OWNERS, MAX_DEBUG_ENTRIES, LOG_LOAD, LOG_HAS, LOG_LOAD_NUMBER, COUNTERS,
  BATCH_RECORD_SHIFT, SCRATCH_DEBUG,
} from "./shared";
import { valueWord, vtypeOf, vlenOf, tokenId } from "./words";
import { memBytes } from "./table";
import { allocatedBytes, MAX_PAGES } from "./alloc";
import { ownerScratch, claimOwner, detachOwner } from "./owners";
import { counterTotal } from "./counters";
import { logKey as logKeyOp, readRecord } from "./ring";
import { beginFlight, endFlight, watchFlight } from "./flights";
import { cacheOn } from "./policy";
import { readKey, numberOf, readBatch, copyTagged } from "./reader";
import { writeKey, clearShardAt, purgeShardAt } from "./ops";
import { initMap } from "./init";
import { liveBytesTotal } from "./stats";

// The maintenance exports: shard locks, iteration, checks, statistics,
// recovery, owner facts.
export * from "./admin";

// ---- lifecycle ----------------------------------------------------------------

/** Lay out a new map in a fresh memory, growing it as needed (init.ts).
 *  The facade checked the options; these checks only keep the layout
 *  sound. ST_OK, ST_BAD_ARG, ST_FULL (maxPages cannot hold the fixed
 *  layout and the shards' first tables). */
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
  return initMap(
    hdr, shardBits, maxOwners, <u64>seedLo | (<u64>seedHi << 32), <u64>idLo | (<u64>idHi << 32), maxKey, maxValue,
    perShard, maxPages, debugEntries, cacheFlags, maxEntries, maxBytes, ttl,
  );
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
export function scratchValueOffset(): u32 {
  return load<u32>(headerBase(), HDR_VALUE_OFF);
}
export function scratchAuxOffset(): u32 {
  return load<u32>(headerBase(), HDR_AUX_OFF);
}
/** Byte address of the allocator lock word (to wait on after ST_BUSY). */
export function allocLockAddress(): u32 {
  return <u32>(headerBase() + HDR_ALLOC_LOCK);
}
/** The byte address of owner `token`'s state word (layout.ts OWN_STATE),
 *  or 0 if the token is not attached: while it holds the value it has now,
 *  the token is this instance's (not released). */
export function ownerStateAddress(token: u32): u32 {
  const hdr = headerBase();
  if (ownerScratch(hdr, token) == 0) return 0;
  return <u32>(ownerSlot(hdr, tokenId(token)) + OWN_STATE);
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
// ---- reads (lock-free) --------------------------------------------------------

/** read() for a token: its scratch area checked, then readKey. */
// @ts-ignore: decorator
@inline function read(token: u32, klen: u32, copy: bool, memo: bool): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return ST_BAD_ARG;
  return readKey(hdr, scratch, tokenId(token), klen, copy, memo);
}

/** load: the value's word (bytes in the aux area) or ST_NOT_FOUND,
 *  ST_BUSY (fell back to the lock and it is held), ST_BAD_ARG. Hot path. */
export function loadValue(token: u32, klen: u32): i32 {
  return read(token, klen, true, true);
}

/** Is the write stripe at byte address `addr` (what a read handed back in
 *  SCRATCH_READ_STRIPE) at count `count` now (1), or not (0; also for an
 *  address outside the memory or not 4-aligned)? The read memo's check
 *  (src/core/memo.ts): one atomic load, cheaper through this call than
 *  through JS's Atomics.load (a builtin call in Node 20, ~4 ns). */
export function stripeIs(addr: u32, count: u32): i32 {
  if ((addr & 3) != 0 || <u64>addr + 4 > <u64>memory.size() * PAGE_BYTES) return 0;
  return atomic.load<u32>(addr) == count ? 1 : 0;
}

/** loadNumber's path: the stored f64, or NaN with the status (what `loadValue`
 *  returns: a value word, ST_NOT_FOUND, ST_BUSY...) in scratch word 2.
 *  A stored NaN also returns NaN: the caller tells them apart by the word. */
export function loadNumber(token: u32, klen: u32): f64 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0) return NaN; // the caller finds ST_BAD_ARG by asking again
  const w = klen - 1 >= load<u32>(hdr, HDR_MAX_KEY) ? ST_BAD_ARG : readKey(hdr, scratch, tokenId(token), klen, true, false);
  return numberOf(hdr, scratch, w);
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
  return read(token, klen, false, false);
}

// ---- writes (under the shard lock) ----------------------------------------------

/** Is `w` a value word the facade may hand in (a known type, a length
 *  within maxValue)? */
// @ts-ignore: decorator
@inline function validWord(w: u32, maxValue: u32): bool {
  return vtypeOf(w) - T_UNDEFINED <= <u32>(T_LAST - T_UNDEFINED) && vlenOf(w) <= maxValue;
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
  if (op <= <u32>OP_CAS && (vtype - T_UNDEFINED > <u32>(T_LAST - T_UNDEFINED) || vlen > maxValue)) return ST_BAD_ARG;
  const word = valueWord(vtype, vlen);
  if ((op == <u32>OP_CAS || op == <u32>OP_CAD) && !validWord(eword, maxValue)) return ST_BAD_ARG;
  return writeKey(hdr, scratch, tokenId(token), op, klen, word, eword);
}

/** Empty one shard. ST_OK, ST_BUSY or ST_BAD_ARG. */
export function clearShard(token: u32, shard: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  return clearShardAt(hdr, scratch, tokenId(token), shardAt(hdr, shard));
}

/** Cache maps: drop every entry of a shard that expired at `now` (ms since
 *  the Unix epoch). The number dropped, ST_BUSY or ST_BAD_ARG. */
export function purgeShardExpired(token: u32, shard: u32, now: f64): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr) || !cacheOn(hdr) || !(now > 0)) return ST_BAD_ARG;
  return purgeShardAt(hdr, scratch, tokenId(token), shardAt(hdr, shard), now);
}

/** Cache maps: the key + value bytes of all live entries (what maxBytes
 *  bounds): racy per-shard counts, exact when no write is in flight. */
export function cacheBytes(): f64 {
  return liveBytesTotal(headerBase());
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
 *  flights.ts): FLIGHT_LEAD or FLIGHT_WAIT (slot and sequence in
 *  scratch words 2 and 1), ST_FULL (every slot in flight), ST_BUSY (the
 *  flight lock), ST_BAD_ARG. `now` and `deadline`: ms since the epoch. */
export function flightBegin(token: u32, klen: u32, now: f64, deadline: f64): i32 {
  const hdr = headerBase();
  const scratch = flightScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY) || !(now > 0) || !(deadline > 0)) return ST_BAD_ARG;
  return beginFlight(hdr, scratch, token, klen, now, deadline);
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
  return endFlight(hdr, scratch, token, slot, seq, outcome, msgLen);
}

/** How flight (slot, seq) stands (see flightWatchLocked; a failure's
 *  message goes to the aux area). A FLIGHT_* code, ST_BUSY, ST_BAD_ARG. */
export function flightWatch(token: u32, slot: u32, seq: u32, now: f64): i32 {
  const hdr = headerBase();
  const scratch = flightScratch(hdr, token);
  if (scratch == 0 || slot >= FLIGHT_SLOTS) return ST_BAD_ARG;
  return watchFlight(hdr, scratch, token, slot, seq, now);
}

/** Byte address of the record area (shared.ts RECORDS_*). */
export function recordsAddress(): u32 {
  return load<u32>(headerBase(), HDR_RECORDS);
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

// ---- debug ring (the *Logged exports are swapped in by the facade) -----------------

/** Log one operation on the scratch key to its shard's ring (ring.ts). */
function logKey(token: u32, klen: u32, op: u32, result: i32): void {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return;
  logKeyOp(hdr, scratch, tokenId(token), klen, op, result);
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
