// Codes shared by the Wasm core and the TypeScript facade.
//
// This file is compiled twice: by AssemblyScript into the core and by esbuild
// into the facade, so it holds nothing but integer constants (AS infers i32).
// Every number that crosses the boundary is named here and nowhere else; the
// packed words made of them are read through small helpers on each side
// (assembly/words.ts, src/words.ts).

// ---- Layout version -------------------------------------------------------
// Bump whenever the shared memory layout or an encoding below changes: a
// handle made by another layout version is refused on attach.
export const LAYOUT_VERSION = 7;

/** Bytes of a WebAssembly memory page. */
export const PAGE_BYTES = 65536;

// ---- Status codes ---------------------------------------------------------
// A result >= 0 is success. For reads and for writes that hand back a
// previous value, a success is the value's packed header word
// (`vtype << 24 | vlen`, never 0 because value types start at 1); the value
// bytes are in the caller's aux area. 0 means "done, no value handed back".
export const ST_OK = 0;
/** The key is absent. */
export const ST_NOT_FOUND = -1;
/** A lock is held by someone else; its word address is in scratch word 0. */
export const ST_BUSY = -2;
/** The memory maximum is reached; nothing was changed. */
export const ST_FULL = -3;
/** compareAndSwap / compareAndDelete: the stored value differs. */
export const ST_MISMATCH = -4;
/** An export was called with an argument out of range (a facade bug). */
export const ST_BAD_ARG = -5;
/** copyTagged: the shard's heap changed since the read; read again. */
export const ST_STALE = -8;
/** Cache maps: the entry (key + value bytes) is larger than its shard's
 *  byte budget (maxBytes / shards); nothing was changed. */
export const ST_TOO_LARGE = -9;
/** The memory does not hold a map of this layout version. */
export const ST_BAD_LAYOUT = -6;
/** Every owner slot is taken (`maxWorkers` instances attached). */
export const ST_NO_OWNER = -7;

// ---- The value header word: vtype << VTYPE_SHIFT | vlen --------------------
// What every read returns and every entry starts with.
export const VTYPE_SHIFT = 24;
export const VLEN_MASK = 0xffffff;
/** The vtype bits of a word (the rest of the top byte are flags). */
export const VTYPE_MASK = 0x3f;
/** vtype flag: the entry carries an 8-byte meta word, its expiry, before
 *  its value bytes: only an entry of a cache map stored with an expiry
 *  does (its queue is a bit of the value word; assembly/words.ts). A read
 *  hands back the word with this flag still set but its vlen without the
 *  meta, and the entry's expiry at SCRATCH_EXPIRY. */
export const VTYPE_META = 0x40;

// ---- Value types (top byte of an entry's header word) ---------------------
export const T_UNDEFINED = 1;
export const T_NULL = 2;
export const T_FALSE = 3;
export const T_TRUE = 4;
/** 8 bytes, little-endian IEEE 754; NaN stored canonical. */
export const T_F64 = 5;
/** Well-formed UTF-8 (the string has no lone surrogate). */
export const T_STRING = 6;
/** WTF-8: like UTF-8, with lone surrogates encoded as 3-byte sequences. */
export const T_WTF8 = 7;
/** ASCII hex digits with an optional leading '-'. */
export const T_BIGINT = 8;
/** Raw bytes of a Uint8Array. */
export const T_BYTES = 9;
/** msgpack (msgpackr, no records) of an object or array. */
export const T_PACKED = 10;
/** msgpackr with records of an object or array: plain msgpack but for
 *  record references to the map's shared structures (RECORDS_*), which
 *  only this map's readers can resolve. */
export const T_RECORDS = 11;
/** The highest value type. */
export const T_LAST = T_RECORDS;

// ---- Key types (first byte of every encoded key) --------------------------
export const K_STRING = 1; // then WTF-8
export const K_NUMBER = 2; // then 8 bytes f64, -0 folded to 0, NaN canonical
export const K_BIGINT = 3; // then ASCII hex, optional '-'
export const K_BYTES = 4; // then the raw bytes

// ---- Write operations (first argument of `write`) -------------------------
export const OP_STORE = 0;
export const OP_LOAD_OR_STORE = 1;
export const OP_SWAP = 2;
export const OP_CAS = 3;
export const OP_DELETE = 4;
export const OP_LOAD_AND_DELETE = 5;
export const OP_CAD = 6;

// ---- Debug ring op codes (besides OP_* for writes) ------------------------
export const LOG_LOAD = 16;
export const LOG_HAS = 17;
export const LOG_LOAD_NUMBER = 18;
/** Most entries per shard of the debug ring. */
export const MAX_DEBUG_ENTRIES = 4096;
// One ring record, 16 bytes: [op | owner id << RING_OWNER_SHIFT]
// [key hash, low 32 bits][result][sequence number, written last].
export const RING_RECORD_BYTES = 16;
export const RING_OP_OWNER = 0;
export const RING_HASH = 4;
export const RING_RESULT = 8;
export const RING_SEQ = 12;
export const RING_OWNER_SHIFT = 8;
export const RING_OP_MASK = 0xff;

// ---- Consistency check results (check.ts; named by the facade) ------------
export const CHECK_OK = 0;
/** A shard's seq is odd with no write in flight. */
export const CHECK_SEQ_ODD = 1;
/** A shard's table word does not match its region, or does not fit in it. */
export const CHECK_TABLE_REGION = 2;
/** A shard's heap top or end lies outside its region. */
export const CHECK_HEAP_BOUNDS = 3;
/** An out-of-line entry lies outside [heap start, heap top). */
export const CHECK_ENTRY_OUTSIDE_HEAP = 4;
/** The heap does not parse entry by entry up to its top. */
export const CHECK_HEAP_PARSE = 5;
/** The shard's dead-byte count is wrong. */
export const CHECK_DEAD_BYTES = 6;
/** The shard's live-entry count is wrong. */
export const CHECK_LIVE_COUNT = 7;
/** The shard's used-slot count (full + deleted) is wrong. */
export const CHECK_USED_COUNT = 8;
/** An inline entry does not fit its cell. */
export const CHECK_INLINE_SIZE = 9;
/** A key is not where a lookup finds it (broken probe chain or duplicate). */
export const CHECK_KEY_UNREACHABLE = 10;
/** A cell still points at the staging cell (an unfinished move). */
export const CHECK_STAGED = 11;
/** A region being built is left over. */
export const CHECK_PENDING = 12;
/** The free list is not increasing or leaves the allocator's area. */
export const CHECK_FREE_ORDER = 13;
/** Two free blocks touch (not coalesced). */
export const CHECK_FREE_ADJACENT = 14;
/** The free-byte count is wrong. */
export const CHECK_FREE_BYTES = 15;
/** The last free block touches the bump pointer (not given back). */
export const CHECK_FREE_AT_TOP = 16;
/** Two regions in use, or a region in use and a free block, overlap. */
export const CHECK_OVERLAP = 17;
/** A region in use lies outside the allocator's area. */
export const CHECK_OUTSIDE_HEAP_AREA = 18;
/** Cache maps: a shard's live-byte or small-queue count is wrong. */
export const CHECK_CACHE_COUNTS = 19;
/** Cache maps: a shard holds more entries or bytes than its budget. */
export const CHECK_CACHE_BOUND = 20;
/** Cache maps: a live entry is in neither queue. */
export const CHECK_CACHE_QUEUE = 21;

/** Values longer than this, out of line, are not copied by `loadValue`: it hands
 *  back their (address, epoch) tag, and the facade copies them
 *  (copyTagged) only when its decoded-value cache has no entry for the
 *  tag. Shorter ones are copied and compared by content. 16: a repeat
 *  load of a small object (17-32 bytes as a record) found by its tag took
 *  120-134 ns against 182-234 ns by its bytes (hashed and compared), and
 *  the 1K-key object workload went +3-15 % (alternated builds); at least
 *  IN_PLACE_MAX_VLEN, since values up to that are replaced in place
 *  (writer.ts replace), which a tag would not see. */
export const TAG_MIN_VLEN = 16;
/** Values of at most this many bytes are replaced in place, with one
 *  aligned 8-byte store and no seqlock bracket or write stripe bump, by a
 *  value of the same type and length (writer.ts replace): a reader reads
 *  them with one aligned load. The facade's read memo keeps no such value. */
export const IN_PLACE_MAX_VLEN = 8;

// ---- Batch reads (readBatch: keys in the value area, records in aux) -------
// A key in the value area: [u16 klen][key bytes], back to back.
// One record per key, BATCH_RECORD_BYTES, in the aux area from its start:
export const BATCH_RECORD_BYTES = 32;
export const BATCH_RECORD_SHIFT = 5; // log2(BATCH_RECORD_BYTES)
/** Result: the value word, or a status (ST_NOT_FOUND). */
export const BATCH_WORD = 0;
/** Result: where the value is: its copy's address (inside the aux area),
 *  or, for a long value out of line that was not copied, its tag's address
 *  (outside it; the epoch at BATCH_TAG_EPOCH), or BATCH_NOT_COPIED if it
 *  did not fit the room left. */
export const BATCH_WHERE = 4;
export const BATCH_TAG_EPOCH = 8;
export const BATCH_NOT_COPIED = 1;
export const BATCH_SHARD = 12;
/** Numbers mode: the f64 value. */
export const BATCH_F64 = 8;
/** Result, cache maps: the value's expiry (f64, as SCRATCH_EXPIRY) when
 *  its word has VTYPE_META. */
export const BATCH_EXPIRY = 16;
// (First pass, internal: key offset, klen, hash.)
export const BATCH_KEY = 0;
export const BATCH_KLEN = 4;
export const BATCH_HASH = 8;
/** Why readBatch stopped (scratch word SCRATCH_WORD): all done, out of
 *  room for values (call again from the returned index), or a lock to wait
 *  for (SCRATCH_BUSY; call again from the returned index). */
export const BATCH_DONE = 0;
export const BATCH_MORE = 1;
export const BATCH_BUSY = 2;

// ---- Cache mode (maps created with maxEntries, maxBytes or ttl) ----------
/** Map header word HDR_CACHE: this map is a cache (init's `cacheFlags`):
 *  bounded shards, entries in eviction queues, and expiries (VTYPE_META). */
export const CACHE_ON = 1;
/** HDR_CACHE: some entry was stored with an expiry (set once, by the core):
 *  from then on writes pass the time (SCRATCH_NOW) so that expired entries
 *  are treated as absent and swept. */
export const CACHE_TTL_SEEN = 2;
/** A cache bounded only by maxBytes holds at most maxBytes / this many
 *  entries (its queues are sized for that many): set maxEntries for more,
 *  smaller entries. */
export const IMPLIED_ENTRY_BYTES = 64;

// ---- fetch's flights (assembly/flights.ts) ---------------------------------
/** flightBegin: the caller runs the loader / another caller does. */
export const FLIGHT_LEAD = 1;
export const FLIGHT_WAIT = 2;
/** A flight slot's state; FREE, EMPTY and FAILED are also how a leader
 *  ends a flight (flightEnd's outcome): stored (or abandoned), loaded
 *  nothing, failed. */
export const FLIGHT_FREE = 0;
export const FLIGHT_LOADING = 1;
export const FLIGHT_FAILED = 2;
export const FLIGHT_EMPTY = 3;
/** flightWatch, besides LOADING, EMPTY and FAILED: the flight is over
 *  (read the map), or its leader is gone or late (begin again). */
export const FLIGHT_ENDED = 4;
export const FLIGHT_STALE = 5;
/** Longest failure message a flight keeps (UTF-8 bytes). */
export const FLIGHT_MSG_MAX = 224;

// ---- Per-owner scratch area (offsets from its start) ----------------------
// word 0: on ST_BUSY, the byte address of the lock word to wait on;
// word 1: iteration: key length of the entry copied out; loadValue's write
//         stripe (SCRATCH_READ_STRIPE, below);
// word 2: iteration: header word of the entry copied out; loadNumber's status;
//         checkAllocator's leaked bytes; loadValue's write stripe count
//         (SCRATCH_READ_COUNT, below);
// word 3: private word for the read fence (an idempotent RMW);
// word 4: the test build's fault door (TEST_FAULT_*; unused in a release
//         build);
// words 5..7: a read's tag (SCRATCH_TAG_*); bytes 32..47: cache maps'
//         expiry and time (SCRATCH_EXPIRY, SCRATCH_NOW);
// bytes 48..63: one debug ring record (debugRead);
// bytes 64..127: one shard's statistics (shardStats, STAT_*);
// bytes 128..255: this instance's counters (CNT_*), f64 each;
// then the key area, the value area and the aux area (expected value in,
// previous or loaded value out), each 8-aligned; their offsets are in the
// map header because they depend on the configured limits.
export const SCRATCH_BUSY = 0;
export const SCRATCH_KLEN = 4;
export const SCRATCH_WORD = 8;
export const SCRATCH_FENCE = 12;
export const SCRATCH_TEST = 16;
/** After loadValue: the key's write stripe (its byte address, layout.ts
 *  SH_STRIPES) and the stripe's count at the read (words 1 and 2, which
 *  iteration and loadNumber use for their own results). The facade's read
 *  memo keeps the value while the stripe has that count. */
export const SCRATCH_READ_STRIPE = SCRATCH_KLEN;
export const SCRATCH_READ_COUNT = SCRATCH_WORD;
// words 5..8: get's tag when it did not copy a long out-of-line value
// (TAG_ADDR 0: it did copy): the value's address, the shard's heap epoch,
// the shard index (for copyTagged).
export const SCRATCH_TAG_ADDR = 20;
export const SCRATCH_TAG_EPOCH = 24;
export const SCRATCH_TAG_SHARD = 28;
// Cache maps: the expiry (f64 ms since the Unix epoch, 0 = never) of the
// entry a read or an iteration step handed back (its word has VTYPE_META);
// for a write, in: the new value's expiry.
export const SCRATCH_EXPIRY = 32;
// Cache maps, writes: the time now (f64 ms since the Unix epoch), or 0 when
// no entry of the map can expire (nothing is checked or swept then).
export const SCRATCH_NOW = 40;
export const SCRATCH_DEBUG = 48;
export const SCRATCH_STATS = 64;
export const SCRATCH_COUNTERS = 128;
export const SCRATCH_KEY = 256;

// ---- Counters (f64 at SCRATCH_COUNTERS + 8 * CNT_*) -------------------------
// Each instance counts in its own scratch area (a line only it writes, so
// counting costs other workers nothing); whoever wants the map's totals
// sums every attached instance's, plus what detached and released
// instances left in the header (HDR_COUNTERS). f64: exact to 2^53.
/** Reads that found their key (load, get, has, loadNumber, batch reads). */
export const CNT_HITS = 0;
/** Reads that did not. */
export const CNT_MISSES = 1;
/** Writes that stored a value. */
export const CNT_STORES = 2;
/** Deletes that removed a key. */
export const CNT_DELETES = 3;
/** Optimistic reads retried because a writer changed the shard (core). */
export const CNT_READ_RETRIES = 4;
/** Calls that found a lock held and slept on it. */
export const CNT_LOCK_WAITS = 5;
/** Waits that ended in a LockTimeoutError. */
export const CNT_LOCK_TIMEOUTS = 6;
/** Table rebuilds (growth, shrink, compaction into a new region) (core). */
export const CNT_RESIZES = 7;
/** Dead owners this instance released. */
export const CNT_RELEASED = 8;
/** Entries evicted to stay within maxEntries / maxBytes. */
export const CNT_EVICTIONS = 9;
/** Entries dropped because their ttl passed. */
export const CNT_EXPIRATIONS = 10;
/** fetch() calls whose loader this instance ran. */
export const CNT_FETCH_LOADS = 11;
/** fetch() calls that waited for another caller's loader. */
export const CNT_FETCH_WAITS = 12;
/** Loaders that failed (rejected or timed out). */
export const CNT_FETCH_ERRORS = 13;
/** fetch() calls that returned a stale value (stale-while-revalidate, or
 *  stale-if-error after a failed load). Counted by the facade only. */
export const CNT_STALE_HITS = 14;
/** Background refreshes (stale-while-revalidate) this instance ran.
 *  Counted by the facade only. */
export const CNT_STALE_REFRESHES = 15;
export const COUNTERS = 16;

// ---- One shard's statistics (u32 words at SCRATCH_STATS + STAT_*) --------
/** Slots in its table. */
export const STAT_SLOTS = 0;
/** Live entries. */
export const STAT_ENTRIES = 4;
/** Tombstones (deleted slots a probe goes past). */
export const STAT_TOMBSTONES = 8;
/** Bytes of its region: table, staging cell and heap. */
export const STAT_REGION_BYTES = 12;
/** Heap bytes of live out-of-line entries. */
export const STAT_HEAP_LIVE = 16;
/** Heap bytes of dead entries, not yet compacted. */
export const STAT_HEAP_DEAD = 20;
/** Longest probe of any key, in groups (1 = found in its first group). */
export const STAT_MAX_PROBE = 24;

// ---- The test build's doors (absent from the release build) --------------
/** scratch word SCRATCH_TEST: what the next write does while locked. */
export const TEST_FAULT_ABORT = 1;
export const TEST_FAULT_TRAP = 2;
/** A trap halfway through rewriting an inline entry, after the switch to
 *  the staging cell (a plain trap if the entry is not inline). */
export const TEST_FAULT_STAGED = 3;
/** cellForm: where a key's entry is. */
export const CELL_FORM_ABSENT = 0;
export const CELL_FORM_INLINE = 1;
export const CELL_FORM_OUTLINE = 2;
/** testCorrupt: the damage a check control inflicts on a shard. */
export const CORRUPT_DEAD_BYTES = 1;
export const CORRUPT_HEAP_PARSE = 2;
export const CORRUPT_FREE_BYTES = 3;

// ---- Limits that the layout imposes ---------------------------------------
/** An entry stores the key length in 16 bits. */
export const MAX_KEY_BYTES_LIMIT = 65535;
/** An entry stores the value length in 24 bits. */
export const MAX_VALUE_BYTES_LIMIT = 16777215;
/** Shard index bits come from bits 32..43 of the hash. */
export const MAX_SHARDS = 4096;
/** Owner ids live in the low bits of a lock word. */
export const MAX_OWNERS = 4096;
/** Cache maps: an entry with an expiry keeps its 8-byte meta word in the
 *  same 24-bit length as its value, so a value may be 8 bytes shorter. */
export const MAX_CACHE_VALUE_BYTES = 16777207;
/** An owner token (what `attach` returns and every export takes) is
 *  id | generation << OWNER_ID_BITS, so an instance whose slot was released
 *  and handed to someone else is refused (ST_BAD_ARG), not mistaken. */
export const OWNER_ID_BITS = 13;
export const OWNER_ID_MASK = 0x1fff;
export const OWNER_GEN_MASK = 0x7ffff;
/** Lock word flag: a JS waiter sleeps on this word, notify on release. */
export const LOCK_CONTENDED = 0x40000000;

// ---- Record structures (objects' shapes, shared by every instance) -------
// An append-only log of msgpackr structures (each a key list) that every
// instance of the map decodes T_RECORDS values with; written and read by
// the facade only (src/codec/records.ts), laid out by init (HDR_RECORDS).
//   [lock u32: owner id or 0][used u32: log bytes published] ... pad to 64
//   [entry: u16 n, then n bytes: msgpack of one key list] ...
// An entry is written past `used`, then published by one atomic store of
// `used` (under the lock): a writer stopped in between leaves bytes past
// `used` that the next append overwrites. Entries are never changed nor
// removed (clear() keeps them): a value stored with record id i always
// decodes with the same structure.
/** Bytes of the record area: room for RECORDS_MAX shapes of at most
 *  RECORD_SHAPE_BYTES, so the count bound is always the one that binds. */
export const RECORDS_AREA_BYTES = 65536;
export const RECORDS_LOCK = 0;
export const RECORDS_USED = 4;
export const RECORDS_LOG = 64;
/** Shared structures at most (msgpackr's maxSharedStructures): past it a
 *  new shape is written inline in each value, as msgpackr does. */
export const RECORDS_MAX = 248;
/** A shape whose key list packs to more bytes than this (or has more than
 *  RECORD_KEYS_MAX keys) is never shared: inline in each value. */
export const RECORD_SHAPE_BYTES = 254;
export const RECORD_KEYS_MAX = 32;
