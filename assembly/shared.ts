// Codes shared by the Wasm core and the TypeScript facade.
//
// This file is compiled twice: by AssemblyScript into the core and by esbuild
// into the facade, so it holds nothing but integer constants (AS infers i32).
// Every number that crosses the boundary is named here and nowhere else.

// ---- Layout version -------------------------------------------------------
// Bump whenever the shared memory layout or an encoding below changes: a
// handle made by another layout version is refused on attach.
export const LAYOUT_VERSION = 4;

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
/** The memory does not hold a map of this layout version. */
export const ST_BAD_LAYOUT = -6;
/** Every owner slot is taken (`maxWorkers` instances attached). */
export const ST_NO_OWNER = -7;

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

// ---- Per-owner scratch area (offsets from its start) ----------------------
// word 0: on ST_BUSY, the byte address of the lock word to wait on;
// word 1: iteration: key length of the entry copied out;
// word 2: iteration: header word of the entry copied out;
// word 3: private word for the read fence (an idempotent RMW);
// word 4: TEST ONLY: 1 makes the next write abort, 2 trap, while locked;
// then the key area, the value area and the aux area (expected value in,
// previous or loaded value out), each 8-aligned; their offsets are in the
// map header because they depend on the configured limits.
export const SCRATCH_BUSY = 0;
export const SCRATCH_KLEN = 4;
export const SCRATCH_WORD = 8;
export const SCRATCH_FENCE = 12;
export const SCRATCH_TEST = 16;
/** debugRead copies one ring entry (16 bytes) here. */
export const SCRATCH_DEBUG = 48;
export const SCRATCH_KEY = 64;

// ---- Limits that the layout imposes ---------------------------------------
/** An entry stores the key length in 16 bits. */
export const MAX_KEY_BYTES_LIMIT = 65535;
/** An entry stores the value length in 24 bits. */
export const MAX_VALUE_BYTES_LIMIT = 16777215;
/** Shard index bits come from bits 32..43 of the hash. */
export const MAX_SHARDS = 4096;
/** Owner ids live in the low bits of a lock word. */
export const MAX_OWNERS = 4096;
/** An owner token (what `attach` returns and every export takes) is
 *  id | generation << OWNER_ID_BITS, so an instance whose slot was released
 *  and handed to someone else is refused (ST_BAD_ARG), not mistaken. */
export const OWNER_ID_BITS = 13;
export const OWNER_ID_MASK = 0x1fff;
export const OWNER_GEN_MASK = 0x7ffff;
/** Lock word flag: a JS waiter sleeps on this word, notify on release. */
export const LOCK_CONTENDED = 0x40000000;
