// Where everything is: the map header, the owner slots, the shard
// headers, the flight slots, a table's groups and cells, an entry. Each
// block of offsets sits under its drawing; the geometry helpers (which
// group a hash starts at, the next group of a probe, how many bytes a
// table or an entry takes) and the tunables, each with its reason, follow.
// Pure constants and arithmetic: nothing here reads shared state but the
// header words it is given. The protocol that uses these is the Overview's
// (overview.ts).

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
// and the record area (shared.ts RECORDS_*: objects' shared shapes)
export const HDR_RECORDS = 332; // u32 address of the record area
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
/*
 * One shard header, SH_BYTES: three cache lines (why: the Overview, "Memory map"):
 *
 *    0       4       8                         16       20       24    32             64
 *   +-------+-------+-------------------------+--------+--------+-----+--------------+
 *   |  seq  | epoch | table: ctrl | groups<<32 | sketch | skmask | ... | stripes[8]   |  line 0: read by readers
 *   +-------+-------+-------------------------+--------+--------+-----+--------------+
 *   64     68      72     76      80      84      88      92      96     100
 *   +------+-------+------+-------+-------+-------+-------+-------+-------+
 *   | lock | count | used | htop  | hend  | rgn   | rgnsz | dead  | pend  | ...
 *   +------+-------+------+-------+-------+-------+-------+-------+-------+
 *   100        104     108       112
 *   +----------+-------+---------+
 *   | pendsz   | ret   | retsz   |                    line 1: writers only
 *   +----------+-------+---------+
 *   sketch/skmask  a cache map's frequency sketch and its index mask
 *              (the one thing readers write; 0 in a plain map)
 *   stripes    write counters, one of which each change of a key bumps
 *              (sync.ts stripeOf; the facade's read memo)
 *   lock  owner id | LOCK_CONTENDED, 0 when free
 *   count live entries; used = full + deleted slots (tombstones count)
 *   htop/hend  heap bump pointer and end; dead = bytes of dead entries
 *   rgn/rgnsz  the region the table lives in; pend/pendsz a region being
 *              built; ret/retsz a replaced region not yet freed (both so
 *              that crash recovery and later writers can free them)
 *
 *   line 2 (cache maps, SH_CAP_* .. SH_GHOST_SLOTS): budgets, counts and
 *              where the queues, ghost table and sketch are (policy.ts)

 */
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
/** Cache maps: the shard's frequency sketch (policy.ts), 0 if none, and its
 *  index mask. Fixed at init, read by readers (the one thing they write). */
export const SH_SKETCH = 16; // u32
export const SH_SKETCH_MASK = 20; // u32
/** The write stripes (sync.ts stripeOf): STRIPES counters, one of which
 *  every change of a key's value bumps, inside the seqlock bracket; the
 *  facade's read memo keeps a value while its key's stripe is unchanged.
 *  On the readers' line: a write bumps seq there anyway. */
export const SH_STRIPES = 32; // u32 × STRIPES
/** Write stripes per shard; a key's is picked by its hash's bits
 *  STRIPE_SHIFT.. (clear of the shard index's and the control tag's). */
export const STRIPES: u32 = 8;
export const STRIPE_SHIFT: u64 = 48;
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
// line 2, cache maps, writers only (policy.ts, eviction.ts); all 0 in a plain map
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
/*
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
 */
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
/** Heap slack on a rebuild while the shard grows: 9/8 of the live bytes,
 *  so a heap grows geometrically. Measured at 1M entries: 3/2 gave 56
 *  bytes per entry, 5/4 51, for ~10 % slower inserts of new keys (more
 *  rebuilds); at 100K small objects (56-byte entries) 9/8 with the table
 *  kept on heap rebuilds (reserveHeap) takes ~4 bytes per entry less
 *  than 5/4, inserts as fast within noise. */
export const HEAP_SLACK_NUM: u32 = 9;
export const HEAP_SLACK_DEN: u32 = 8;
/** Heap slack on a rebuild of a heap that churn filled (at least half of
 *  the growth slack is dead entries: values replaced, not keys added):
 *  5/4, so that the next rebuild is a quarter of the shard's bytes of
 *  replaced values away (with 9/8 every eighth copied the whole shard
 *  again), and a full cache's heap stays within 5/4 of its live bytes
 *  (docs/cache.md). */
export const HEAP_CHURN_SLACK_NUM: u32 = 5;
export const HEAP_CHURN_SLACK_DEN: u32 = 4;
/** A rebuild for an entry of `size` heap bytes also leaves room for this
 *  many more of that size: with few long values per shard (4 KB strings,
 *  ~4 per shard) 5/4 of the live bytes is room for one, so every store
 *  compacted the whole heap (13 us per store measured); with room for 4 a
 *  compaction's copy is paid over 4 stores. */
export const HEAP_ROOM_ENTRIES: u32 = 4;
/** Smallest heap of a shard: room for ~16 entries too long for a cell
 *  (short ones take no heap). Measured at 100K small objects (56-byte
 *  entries): 512 gave 103.0 shared bytes per entry, 1024 101.8, 2048 99.3
 *  (a shard's heap and table grow in steps whose phase the first ones
 *  set); an empty map of 256 shards takes 128 KiB more than with 512. */
export const MIN_HEAP_BYTES: u32 = 1024;
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
