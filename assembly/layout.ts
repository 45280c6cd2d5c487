/*
 * Overview
 * ========
 *
 * shardedmap is a hash table that lives in one shared WebAssembly.Memory and
 * is used at once by many JS agents (workers), each with its own instance of
 * this module. Goals, in priority order:
 *   1. Never lose or corrupt data, whatever the interleaving, and stay
 *      consistent if a writer stops at any instruction (crash consistency).
 *   2. Reads never block and never write shared memory: they scale with cores.
 *   3. One cache miss per lookup on a large table for short entries (a
 *      key and value that fit a 32-byte cell), two for longer ones.
 *   4. Memory bounded by the live data: churn reuses space.
 *
 * Instances share nothing but the memory: the AS runtime, its globals and its
 * data segments are per instance, so the hot path keeps no mutable globals and
 * allocates nothing. All state lives in the layout below, found from the
 * map header at `headerBase()` (just past this module's static data).
 *
 * Memory map
 * ----------
 *   [AS static data][map header][owner registry][shard headers]
 *   [debug rings][cache areas][flight table][regions and scratch areas, from the allocator ...]
 *
 * Map header (HDR_*): magic, layout version, shard bits, the per-map random
 * seed, the map id, limits, the allocator words, the fault count and the
 * entry count.
 *
 * Owner registry: one 16-byte slot per attachable instance (`maxWorkers`).
 * Owner id = slot index + 1; it is what a lock word holds while locked. The
 * slot's state word is `generation << 1 | alive`; its scratch word points at
 * the owner's private scratch area (keys in, values out), 0 when it has
 * none; its thread word records the attaching thread (for watch()).
 *
 * Debug rings (only with the debugRing option): per shard, a head counter
 * (16 bytes) then `entries` records (shared.ts: RING_*). Written only by the
 * *Logged exports, which the facade swaps in at construction.
 *
 * One shard header, 192 bytes = three cache lines, so that readers (line 0)
 * and writers waiting on the lock (line 1) do not share a line; line 2 is
 * the cache state of a cache map (see Cache mode):
 *
 *    0               8                                64
 *   +-------+-------+-------------------------------+
 *   |  seq  | epoch | table word: ctrl | groups << 32 |  line 0: read by readers
 *   +-------+-------+-------------------------------+
 *   64     68      72     76      80      84      88      92      96     100
 *   +------+-------+------+-------+-------+-------+-------+-------+-------+
 *   | lock | count | used | htop  | hend  | rgn   | rgnsz | dead  | pend  | ...
 *   +------+-------+------+-------+-------+-------+-------+-------+-------+
 *   100        104     108       112
 *   +----------+-------+---------+
 *   | pendsz   | ret   | retsz   |                    line 1: writers only
 *   +----------+-------+---------+
 *   lock  owner id | LOCK_CONTENDED, 0 when free
 *   count live entries; used = full + deleted slots (tombstones count)
 *   htop/hend  heap bump pointer and end; dead = bytes of dead entries
 *   rgn/rgnsz  the region the table lives in; pend/pendsz a region being
 *              built; ret/retsz a replaced region not yet freed (both so
 *              that crash recovery and later writers can free them)
 *
 * A region is the shard's whole table: its control bytes, its cells, one
 * staging cell (see Crash consistency), then its entry heap (for entries
 * too long for a cell).
 *
 *   region: [ctrl: 16 bytes per group][cells: 16 x 32 per group][stage][heap]
 *
 * A group is 16 slots: 16 control bytes (one SIMD compare) and 16 cells.
 * The control bytes of all groups are packed together (1 byte per slot, like
 * hashbrown's), so on a large table they are a small fraction of it (1/33)
 * and stay in cache; the cells are the big part. A lookup of a short key
 * touches its control bytes (usually cached) and one cell: one cache miss.
 *
 * Control bytes (ctrl.ts): EMPTY, DELETED, or FULL with a 7-bit tag from the
 * hash, so a probe compares 16 tags at once and touches a cell only on a tag
 * match (1 in 128 by chance).
 *
 * One cell, 32 bytes, 32-aligned (so never across a cache line), holds
 * either the whole entry (inline) or where it is (out of line):
 *
 *    0                  4            6                  align8(6+klen)    32
 *   +-------------------+------------+------------------+----------------+
 *   | vtype<<24 | vlen  | klen (u16) | key bytes        | value bytes    |  inline
 *   +-------------------+------------+------------------+----------------+
 *   | CELL_OUTLINE<<24  | entry address (u32)           | unused ...     |  out of line
 *   +-------------------+-------------------------------+----------------+
 *
 * An entry has the same format wherever it is, inline in its cell or in the
 * shard's heap (8-aligned); it is inline when it fits: entryBytes(klen, vlen)
 * <= 32, e.g. a key of up to 18 encoded bytes with a number, a key of up to
 * 10 bytes with a value of up to 16. The first word is exactly what a read
 * returns, and the value is 8-aligned so an f64 can be replaced with one
 * atomic 8-byte store. The out-of-line form's first 8 bytes are one aligned
 * u64, so a cell switches from inline to out of line with one store.
 *
 * Hashing (hash.ts): FNV-1a over 4-byte lanes, its basis xored with the
 * per-map seed, then a 64-bit finalizer. Bits 32..43 pick the shard, the low
 * 32 bits pick the first group (scaled to the group count, see firstGroup),
 * the top 7 bits are the tag. A probe goes on group by group, triangularly
 * (g0, g0+1, g0+3, g0+6..., wrapping; linearly in tables of up to 16 groups).
 *
 * Seqlock and write lock (sync.ts)
 * --------------------------------
 * Writers take the shard's lock word with a compare-exchange from 0 to their
 * owner id, spinning a bounded number of times; if it stays taken they
 * return ST_BUSY with the word's address and the facade sleeps on it with
 * Atomics.wait in JS (never a wait instruction inside Wasm: Node 20's V8
 * clobbers locals across it). A waiter sets LOCK_CONTENDED first; the releaser
 * notifies when it sees that bit.
 *
 * Inside the lock, every change that a reader could see is bracketed by
 * seq += 1 (odd: "changing") and seq += 1 (even again), except the two
 * that are one aligned store a reader reads with one aligned load: an f64
 * (or other <= 8-byte value of the same type and length) replaced in place,
 * and a type-only change of an empty value (true -> null). Those leave the
 * readers' cache line alone, which is what lets numeric writers and readers
 * on other cores scale. Readers take no lock
 * and write nothing shared: read seq (retry while odd), load the table word,
 * probe, copy the value into their own scratch, fence, re-read seq; accept
 * the copy only if seq is unchanged. After READ_RETRIES failed tries a
 * reader falls back to the lock, so a preempted writer cannot make it spin
 * for a whole scheduler tick.
 *
 * What a torn read can do: everything a reader loads between the two seq
 * reads may be garbage (a region freed and reused by another shard, a
 * half-written entry). So every address and length read there is checked
 * against the memory's committed size (HDR_MEM_BYTES, which only grows)
 * and the configured limits before it is dereferenced; the worst a torn read
 * can do is fail the seq check and retry. It can never trap or write.
 *
 * Crash consistency: every change is published by a single aligned store
 * (a control byte, a cell's first 8 bytes, an entry address, an 8-byte
 * value, the 8-byte table word). An entry is written completely, in a free
 * cell or in heap space already reserved, before the store that makes it
 * reachable. An inline entry that gets a new value that still fits (but
 * not by one of the one-store updates above) is rewritten through the
 * region's staging cell: the new entry is written there, the cell switches
 * to point at it (one store), the cell's bytes 8..31 (unused in that form)
 * get the new entry's tail, and one store of its first 8 bytes makes it
 * inline again. A stop in between leaves the cell pointing at the staging
 * cell, which nobody writes before recovery (it holds the lock) finishes
 * the move. An out-of-line entry whose new value fits comes back inline
 * the same way (its cell's bytes 8..31 are unused); a value that does not
 * fit goes to the heap and the cell switches to it with one store. So a
 * writer that stops at any instruction leaves the shard readable, with
 * each key old or new; only its lock, an odd seq, the counters, a staged
 * cell and a pending region need repair.
 *
 * Resize
 * ------
 * A shard grows, shrinks or compacts by building a whole new region beside
 * the old one while readers go on reading the old one: live entries are
 * copied (which drops dead entries and tombstones), the new table word is
 * stored with one atomic store, seq is bumped by 2 (so readers still in the
 * old region retry), and only then is the old region freed. Readers never
 * wait for a resize. The trigger: an insert that would take the table past
 * its max load (0.825 to 0.9 by shard, tombstones included), a heap with
 * no room for the new entry, or a probe longer than MAX_PROBE_GROUPS (then
 * 1/4 more groups, see crowdedGroups). The new size holds the live entries
 * at most 18/25 full, so size grows 1.15-1.25x when full of live keys and
 * shrinks when mostly tombstones; the heap gets 5/4 of the live bytes
 * (entries too long for a cell) plus the new entry.
 * A small heap (<= 4 KiB) that is full of dead entries is first compacted
 * in place instead, under an odd seq (see compactInPlace in table.ts), so
 * that churn in many small shards does not go through the allocator.
 *
 * Regions come from one allocator for the whole memory (alloc.ts): a bump
 * pointer plus an address-ordered free list with coalescing, under its own
 * lock; it grows the memory (memory.grow) up to the maximum when both run
 * out. Allocation happens only on resize and attach, never on the hot path.
 *
 * Cache mode
 * ----------
 * A map created with maxEntries, maxBytes or ttl is a cache (HDR_CACHE).
 * An entry's value word then also says which eviction queue it is in
 * (MAIN_BIT, words.ts), and an entry with an expiry carries an 8-byte meta
 * word before its value (flag VTYPE_META; the value length counts it, so
 * every walk over entries is unchanged): the expiry, ms since the Unix
 * epoch. (Entries without one are as in a plain map: a short key and a
 * number still fit a cell.)
 *
 * A read returns the word (queue bit cleared, meta not counted) and the
 * expiry;
 * the facade compares it with its clock (writes pass the time in, so the
 * write path treats expired entries as absent and sweeps a few slots per
 * write). Each shard has budgets (SH_CAP_*) and evicts with S3-FIFO (Yang
 * et al., SOSP '23): new entries enter a small FIFO queue, those read
 * twice before they reach its end move to the main queue, which
 * reinserts entries read since their last pass; keys evicted from the
 * small queue leave a fingerprint in a ghost table, and a key found there
 * on insert goes straight to main. The queues are rings of key-hash
 * items, not slots, so rebuilds and compactions never touch them; the
 * per-key read counts live in a frequency sketch indexed by hash. The
 * rings, ghost table and sketch of every shard are laid out at init
 * beside the shard headers (fixed, never freed): a reader bumps a sketch
 * byte only when it is below the cap, so a hot key costs no write, and
 * even a reader that read a torn table writes only into a sketch.
 *
 *   cache area of a shard: [small ring: cap x u64][main ring: cap x u64]
 *                          [ghost: u32 fingerprints][sketch: u8 counts]
 *
 * This core is organized as (one contract per file, stated in its first
 * comment):
 *   shared.ts  codes shared with the facade (status, types, ops, scratch,
 *              check rules, ring records)
 *   build.ts   the compile-time switches of the release, test and debug builds
 *   layout.ts  this overview, every offset, the table geometry, the tunables
 *   words.ts   the packed words (table, owner state and token, lock, value)
 *   ctrl.ts    control bytes
 *   hash.ts    seeded FNV-1a and the finalizer
 *   sync.ts    the seqlock, table-word, lock and fence accessors (the other
 *              atomics, on counters, owner slots and in-place values, are
 *              commented where they are used)
 *   cells.ts   slot references and the entry format: where things are
 *   reader.ts  lookups without the lock: everything read may be garbage
 *   writer.ts  insert, replace, remove under the shard lock: all is sound
 *   cache.ts   cache mode: meta words, queues, eviction, expiry, sketch
 *   resize.ts  rebuild and in-place compaction, under the shard lock
 *   alloc.ts   the region allocator and memory growth
 *   recover.ts repairing a shard or the allocator after a writer stopped
 *   check.ts   the consistency rules (map.check(), debug assertions)
 *   owners.ts  the owner registry: attach, detach, free a dead owner
 *   counters.ts per-instance counters and their map-wide totals
 *   ring.ts    the debug ring
 *   index.ts   the release build's exports: argument checks, then the above
 *   test.ts    the test build's entry: index.ts plus doors.ts (test doors)
 */

import { VLEN_MASK } from "./shared";

/** The map header starts here: just past this module's static data. */
// @ts-ignore: decorator
@inline export function headerBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

// ---- Map header ------------------------------------------------------------
export const MAGIC: u32 = 0x504d4853; // "SHMP" little-endian

export const HDR_MAGIC = 0; // u32
export const HDR_VERSION = 4; // u32 LAYOUT_VERSION
export const HDR_SHARD_BITS = 8; // u32 log2(shards)
export const HDR_MAX_OWNERS = 12; // u32 registry slots
export const HDR_SEED = 16; // u64 hash seed
export const HDR_MAP_ID = 24; // u64 random id of this map
export const HDR_MAX_KEY = 32; // u32 max encoded key bytes
export const HDR_MAX_VALUE = 36; // u32 max encoded value bytes
export const HDR_SCRATCH_BYTES = 40; // u32 size of one scratch area
export const HDR_VALUE_OFF = 44; // u32 value area offset in scratch
export const HDR_AUX_OFF = 48; // u32 aux area offset in scratch
export const HDR_MIN_GROUPS = 52; // u32 groups of a fresh shard
export const HDR_OWNERS = 56; // u32 address of the owner registry
export const HDR_SHARDS = 60; // u32 address of shard header 0
// line 1: allocator (written only under the allocator lock)
export const HDR_ALLOC_LOCK = 64; // u32 owner id or 0
export const HDR_ALLOC_TOP = 68; // u32 bump pointer
export const HDR_FREE_HEAD = 72; // u32 first free block or 0
export const HDR_MEM_BYTES = 76; // u32 committed bytes (only grows)
export const HDR_MAX_PAGES = 80; // u32 memory maximum in pages
export const HDR_FREE_BYTES = 84; // u32 bytes on the free list
// line 1 tail (rarely written): debug ring (0 entries = off), faults
export const HDR_DEBUG_ENTRIES = 88; // u32 ring entries per shard (power of two) or 0
export const HDR_DEBUG_RINGS = 92; // u32 address of shard 0's ring
export const HDR_FAULTS = 96; // u32 internal errors any instance hit (noteFault)
export const HDR_ALLOC_BASE = 100; // u32 first address the allocator hands out
export const HDR_EPOCH = 104; // u32 the last heap epoch handed out (see SH_EPOCH)
export const HDR_CACHE = 108; // u32 CACHE_ON | CACHE_TTL_SEEN (shared.ts), 0 for a plain map
export const HDR_TTL = 112; // f64 a cache map's default ttl (ms; 0 = none)
export const HDR_MAX_ENTRIES = 120; // u32 a cache map's maxEntries (0 = no bound)
export const HDR_MAX_BYTES = 124; // u32 a cache map's maxBytes (0 = no bound)
// line 2: the map's entry count, alone on its line (atomic add per insert)
export const HDR_COUNT = 128; // u32
// lines 3-4: what detached and released owners counted (CNT_*, f64 each)
export const HDR_COUNTERS = 192;
// line 5: a cache map's flight table (flights.ts): its lock, the epoch
// waiters sleep on (bumped by every end), its address
export const HDR_FLIGHT_LOCK = 320; // u32 owner id or 0
export const HDR_FLIGHT_EPOCH = 324; // u32
export const HDR_FLIGHTS = 328; // u32 address of slot 0, 0 in a plain map
export const HDR_BYTES = 384;

// ---- Flight slot (flights.ts) -------------------------------------------------
/** Loads in flight at once, map-wide: a fetch that finds every slot taken
 *  waits for one to end. */
export const FLIGHT_SLOTS: u32 = 256;
export const FL_STATE = 0; // u32 FLIGHT_FREE / LOADING / FAILED / EMPTY
export const FL_OWNER = 4; // u32 the leader's owner token
export const FL_HASH = 8; // u64 the key's hash
export const FL_DEADLINE = 16; // f64 ms since the epoch: then others may take over
export const FL_SEQ = 24; // u32 bumped by every claim
export const FL_MSG_LEN = 28; // u32 bytes of a failure's message
export const FL_MSG = 32; // a failure's message (UTF-8, FLIGHT_MSG_MAX bytes at most)
export const FLIGHT_SLOT_BYTES: u32 = 256;

/** The header of shard `i`. */
// @ts-ignore: decorator
@inline export function shardAt(hdr: usize, i: u32): usize {
  return <usize>load<u32>(hdr, HDR_SHARDS) + <usize>i * SH_BYTES;
}

/** Number of shards. */
// @ts-ignore: decorator
@inline export function shardCountOf(hdr: usize): u32 {
  return <u32>1 << load<u32>(hdr, HDR_SHARD_BITS);
}

/** The shard index of hash h: its bits 32.. (see firstGroup). */
// @ts-ignore: decorator
@inline export function shardIndexOfHash(hdr: usize, h: u64): u32 {
  return <u32>(h >>> 32) & ((<u32>1 << load<u32>(hdr, HDR_SHARD_BITS)) - 1);
}

/** The header of the shard of hash h. */
// @ts-ignore: decorator
@inline export function shardOfHash(hdr: usize, h: u64): usize {
  return shardAt(hdr, shardIndexOfHash(hdr, h));
}

/** The registry slot of owner id `id` (1-based; checked by the caller). */
// @ts-ignore: decorator
@inline export function ownerSlot(hdr: usize, id: u32): usize {
  return <usize>load<u32>(hdr, HDR_OWNERS) + <usize>(id - 1) * OWN_BYTES;
}

// ---- Owner registry slot --------------------------------------------------
export const OWN_STATE = 0; // u32 generation << 1 | alive (words.ts)
export const OWN_SCRATCH = 4; // u32 scratch area address, 0 if none
export const OWN_THREAD = 8; // u32 the attaching thread's id + 1, 0 if unknown
export const OWN_BYTES = 16;

// ---- Shard header -------------------------------------------------------------
// line 0, read by readers
export const SH_SEQ = 0; // u32 even = stable, odd = changing
/** The shard's heap epoch: a number no other shard's heap ever had, taken
 *  from HDR_EPOCH whenever heap entries may move or be overwritten
 *  (rebuild, in-place compaction, repair, clear). Between two changes an
 *  out-of-line entry's bytes never change (a new value is a new entry),
 *  so (entry address, epoch) names one value forever: the facade's
 *  decoded-value cache is keyed by it. Read under the seqlock. */
export const SH_EPOCH = 4; // u32
export const SH_TABLE = 8; // u64 table word: ctrl address | group count << 32 (words.ts)
/** Cache maps: the shard's frequency sketch (cache.ts), 0 if none, and its
 *  index mask. Fixed at init, read by readers (the one thing they write). */
export const SH_SKETCH = 16; // u32
export const SH_SKETCH_MASK = 20; // u32
// line 1, writers only (under the lock)
export const SH_LOCK = 64; // u32 owner id | LOCK_CONTENDED, 0 = free
export const SH_COUNT = 68; // u32 live entries
export const SH_USED = 72; // u32 full + deleted slots
export const SH_HEAP_TOP = 76; // u32 next free heap byte
export const SH_HEAP_END = 80; // u32 end of the heap
export const SH_REGION = 84; // u32 region address (= the table's ctrl address)
export const SH_REGION_BYTES = 88; // u32 region size
export const SH_DEAD = 92; // u32 bytes of dead entries in the heap
export const SH_PENDING = 96; // u32 region being built, 0 if none
export const SH_PENDING_BYTES = 100; // u32 its size
export const SH_RETIRED = 104; // u32 region replaced but not yet freed, 0 if none
export const SH_RETIRED_BYTES = 108; // u32 its size
// line 2, cache maps, writers only (cache.ts); all 0 in a plain map
export const SH_CAP_ENTRIES = 128; // u32 most live entries (0 = no bound)
export const SH_CAP_BYTES = 132; // u32 most key + value bytes of live entries (0 = no bound)
export const SH_LIVE_BYTES = 136; // u32 key + value bytes of live entries
export const SH_SMALL_COUNT = 140; // u32 live entries in the small queue
export const SH_SWEEP = 148; // u32 the expiry sweep's next slot number
export const SH_RING_CAP = 152; // u32 items each queue ring holds (0: no queues)
export const SH_SMALL_RING = 156; // u32 address of the small queue's ring
export const SH_SMALL_HEAD = 160; // u32 index of its oldest item
export const SH_SMALL_LEN = 164; // u32 items in it (live or stale)
export const SH_MAIN_RING = 168; // u32 the main queue: ring, head, length
export const SH_MAIN_HEAD = 172;
export const SH_MAIN_LEN = 176;
export const SH_GHOST = 180; // u32 address of the ghost table
export const SH_GHOST_SLOTS = 184; // u32 its slot count
export const SH_BYTES = 192;

// ---- Groups and cells -------------------------------------------------------
/** Slots per group: one 16-lane SIMD compare of control bytes. */
export const GROUP_SLOTS = 16;
export const GROUP_SLOT_SHIFT = 4; // log2(GROUP_SLOTS)
/** One cell: an inline entry or an out-of-line entry's address. 32 bytes
 *  holds a typical short key with a number (see the Overview) and, being
 *  32-aligned, never straddles a 64-byte cache line. */
export const CELL_BYTES: u32 = 32;
export const CELL_SHIFT = 5; // log2(CELL_BYTES)
/** The vtype byte of a cell whose entry is out of line; the entry's address
 *  is the u32 at CELL_ADDR. No real value type has it (T_* < 0x80). */
export const CELL_OUTLINE: u32 = 0xff;
export const CELL_ADDR = 4;

/** The group of a slot number (group * GROUP_SLOTS + index). */
// @ts-ignore: decorator
@inline export function slotGroup(slot: u32): u32 {
  return slot >> GROUP_SLOT_SHIFT;
}

/** Bytes of the control bytes of a table of n groups, padded to a cache
 *  line so the cells start on one. */
// @ts-ignore: decorator
@inline export function ctrlBytes(n: u32): u64 {
  return align64(<u64>n << GROUP_SLOT_SHIFT);
}

/** Bytes of the control bytes, the cells and the staging cell of a table
 *  (its heap follows). */
// @ts-ignore: decorator
@inline export function tableBytes(n: u32): u64 {
  return ctrlBytes(n) + (<u64>n << (GROUP_SLOT_SHIFT + CELL_SHIFT)) + CELL_BYTES;
}

/** The first group of hash h in a table of n groups: the low 32 bits of h
 *  scaled to [0, n) by a multiply (Lemire's fastrange), so n need not be a
 *  power of two and tables can grow by 1.25x. Bits 32.. pick the shard
 *  (shardIndex), the top 7 the tag (ctrl.ts). */
// @ts-ignore: decorator
@inline export function firstGroup(h: u64, n: u32): u32 {
  return <u32>(((h & 0xffffffff) * <u64>n) >>> 32);
}

/** The group after g in a probe, at its step-th step (1, 2, 3...):
 *  triangular probing by whole groups (g0, g0+1, g0+3, g0+6...), as in
 *  hashbrown. Its first step is the next group, whose control bytes are
 *  usually on the cache line just read; the growing steps break up the
 *  clusters that linear probing builds at high load (measured at 0.9 load:
 *  linear probing hit the 16-group probe bound often enough to double
 *  tables; triangular did not). A table of at most MAX_PROBE_GROUPS groups
 *  is probed linearly instead, so that a probe visits every group (the
 *  triangular numbers modulo 3, say, never reach g0+2). */
// @ts-ignore: decorator
@inline export function nextGroup(g: u32, step: u32, n: u32): u32 {
  if (n <= MAX_PROBE_GROUPS) return g + 1 == n ? 0 : g + 1;
  const next = g + step;
  return next < n ? next : next % n;
}

// ---- Entry --------------------------------------------------------------------
export const E_WORD = 0; // u32 value word: vtype << 24 | vlen (words.ts)
export const E_KLEN = 4; // u16 key length
export const E_KEY = 6; // key bytes start here
/** The smallest entry: its value word and key length, padded to 8 (also
 *  the size of a dead filler entry with no value bytes). */
export const MIN_ENTRY_BYTES: u32 = 8;

/** Bytes an entry takes, in a cell or in the heap. */
// @ts-ignore: decorator
@inline export function entryBytes(klen: u32, vlen: u32): u32 {
  return align8(E_KEY + klen) + align8(vlen);
}

/** Bytes of the entry at `e`, from its value word and key length. */
// @ts-ignore: decorator
@inline export function entryBytesAt(e: usize): u32 {
  return entryBytes(<u32>load<u16>(e, E_KLEN), load<u32>(e, E_WORD) & VLEN_MASK);
}

/** Offset of the value inside an entry. */
// @ts-ignore: decorator
@inline export function valueOffset(klen: u32): u32 {
  return align8(E_KEY + klen);
}

// @ts-ignore: decorator
@inline export function align8(n: u32): u32 {
  return (n + 7) & ~7;
}

// @ts-ignore: decorator
@inline export function align64(n: u64): u64 {
  return (n + 63) & ~(<u64>63);
}

// ---- Tunables, each with its reason ------------------------------------------
/** Max load before a resize: from 33/40 (0.825) to 36/40 (0.9), by shard
 *  (maxLoadNum): about SwissTable's 7/8 on average. The spread over shards
 *  keeps them from growing in lockstep: with one threshold, uniform hashing
 *  makes all 256 shards grow at the same map size, so the load (and bytes
 *  per entry) at a given size swings with where that size falls in the
 *  growth cycle. Measured at 1M entries with triangular probing: thresholds
 *  up to 0.925 sent some probes past MAX_PROBE_GROUPS (tables doubled);
 *  up to 0.9 none did. */
export const LOAD_NUM_MIN: u32 = 33;
export const LOAD_SPREAD: u32 = 4; // thresholds LOAD_NUM_MIN .. + LOAD_SPREAD - 1
export const LOAD_DEN: u32 = 40;
/** A rebuilt table is at most 18/25 full: a table full of live keys grows
 *  by 1.15-1.25x, one mostly of tombstones keeps its size or shrinks.
 *  Measured at 1M entries (33 bytes of table per slot): growth 1.5x up to
 *  7/8 (one threshold) gave a load of 0.72 and 45.9 bytes per entry; this
 *  gives 0.80 and 41.2 (42-43 at 0.7M and 1.3M), for ~2x the rebuild
 *  copying of 1.5x growth. */
export const REBUILD_LOAD_NUM: u32 = 18;
export const REBUILD_LOAD_DEN: u32 = 25;

/** The max-load numerator (over LOAD_DEN) of the shard whose header is at
 *  `sh`, from its address (shard headers are SH_BYTES apart). */
// @ts-ignore: decorator
@inline export function maxLoadNum(sh: usize): u32 {
  return LOAD_NUM_MIN + <u32>((sh / SH_BYTES) % LOAD_SPREAD);
}
/** Heap slack on rebuild: 5/4 of the live bytes, so a heap grows
 *  geometrically and churn compacts before it grows much. Measured at 1M
 *  entries: 3/2 gave 56 bytes per entry, 5/4 gives 51, for ~10 % slower
 *  inserts of new keys (more rebuilds). */
export const HEAP_SLACK_NUM: u32 = 5;
export const HEAP_SLACK_DEN: u32 = 4;
/** A rebuild for an entry of `size` heap bytes also leaves room for this
 *  many more of that size: with few long values per shard (4 KB strings,
 *  ~4 per shard) 5/4 of the live bytes is room for one, so every store
 *  compacted the whole heap (13 us per store measured); with room for 4 a
 *  compaction's copy is paid over 4 stores. */
export const HEAP_ROOM_ENTRIES: u32 = 4;
/** Smallest heap of a shard: room for ~8 entries too long for a cell
 *  (short ones take no heap). */
export const MIN_HEAP_BYTES: u32 = 512;
/** Longest probe, in groups. An insert that would go further resizes, so a
 *  lookup never needs to look further: this bounds every reader, even one
 *  reading a torn table. At 0.9 load a triangular probe this long has a chance far
 *  below 1e-9 for random hashes. */
export const MAX_PROBE_GROUPS: u32 = 16;
/** A table whose probe path ran past MAX_PROBE_GROUPS is rebuilt with
 *  1/4 more groups (again if that is not enough): the new group count
 *  moves every key's first group (fastrange), which breaks up the crowded
 *  path as well as doubling did. Measured on 20K keys in 4 shards: doubling
 *  on a crowded probe doubled a table in 3 of 60 runs (memory per entry
 *  up 2x for that shard until it filled again). */
export const CROWDED_GROWTH_SHIFT: u32 = 2;
/** The group count after `n` when a probe was crowded (at least one more). */
// @ts-ignore: decorator
@inline export function crowdedGroups(n: u64): u64 {
  return n + (n >> CROWDED_GROWTH_SHIFT) + 1;
}
/** Optimistic read attempts before a reader falls back to the lock: a few
 *  writer windows are short (tens of ns), a preempted writer is not. */
export const READ_RETRIES: i32 = 64;
/** Compare-exchange attempts on a lock before returning ST_BUSY so that JS
 *  sleeps; a shard lock is held for well under a microsecond. */
export const LOCK_SPINS: i32 = 256;
