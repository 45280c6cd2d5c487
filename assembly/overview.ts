// The core's Overview: read this first. Comments only: nothing imports
// this file, so no build compiles it; the code it describes starts at
// layout.ts (the offsets, each under its drawing).

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
 *   [debug rings][cache areas][flight table][record area]
 *   [regions and scratch areas, from the allocator ...]
 *
 * Record area (64 KiB, every map): the shapes (key lists) of stored objects
 * that every instance encodes T_RECORDS values with, an append-only log
 * the facade alone reads and writes (shared.ts RECORDS_*; the core only
 * lays it out and accepts the value type).
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
 * the cache state of a cache map (see Cache mode). layout.ts draws it, word
 * by word, with its offsets (SH_*) right below the drawing.
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
 * either the whole entry (inline) or where it is (out of line); layout.ts
 * draws both forms above the cell and entry offsets.
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
 * Write stripes (SH_STRIPES): a finer seq for the facade's read memo. A
 * change of a key's value that goes through the bracket also bumps one of
 * the shard's STRIPES counters (picked by hash bits), inside the bracket;
 * a clear or a repair bumps them all. A single load reads its key's
 * counter inside its own bracket and hands the count back with the value;
 * the facade then answers repeat loads of the key from what it decoded,
 * checking only that the counter still has that count (stripeIs, one
 * atomic load; src/core/memo.ts).
 * The one-store changes above bump nothing: the memo keeps no value they
 * can change.
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
 * shrinks when mostly tombstones; the heap gets 9/8 of the live bytes
 * (entries too long for a cell) plus the new entry while the shard grows,
 * 5/4 when dead entries filled it (churn: HEAP_SLACK, HEAP_CHURN_SLACK).
 * A small heap (<= 4 KiB) that is full of dead entries is first compacted
 * in place instead, under an odd seq (see compactInPlace in resize.ts), so
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
 * Every entry's value word then also says which eviction queue it is in
 * (MAIN_BIT set: main, clear: small; words.ts). Only an entry stored with
 * an expiry carries a meta word: 8 bytes before its value holding the
 * expiry, ms since the Unix epoch (flag VTYPE_META; the value length
 * counts it, so every walk over entries is unchanged). Entries without
 * one are as in a plain map: a short key and a number still fit a cell.
 *
 * A read returns the word (queue bit cleared, meta not counted) and the
 * expiry; the facade compares it with its clock (writes pass the time in, so the
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
 * How this core is organized
 * ---------------------------
 * One contract per file, stated in its first comment. The files fall into
 * ranks, listed here in import order: a file imports only files of lower
 * ranks, or of its own rank listed above it (so never in a cycle). The
 * test test/unit/layers.test.ts holds this table, checks that this list
 * matches it, and fails on an upward import, a cycle within a rank or a
 * file the table does not rank.
 *
 *   0 codes       shared.ts    codes shared with the facade (status, types,
 *                              ops, scratch, check rules, ring records)
 *                 build.ts     the compile-time switches of the release,
 *                              test and debug builds
 *                 overview.ts  this Overview (comments only: no code, and
 *                              nothing imports it)
 *   1 words       layout.ts    every offset with its drawing, the table
 *                              geometry, the tunables
 *                 words.ts     the packed words (table, owner state and
 *                              token, lock, value, meta, queue item)
 *                 ctrl.ts      control bytes
 *                 hash.ts      seeded FNV-1a and the finalizer
 *                 sync.ts      the seqlock, write-stripe, table-word, lock and fence
 *                              accessors (the other atomics, on counters,
 *                              owner slots and in-place values, are
 *                              commented where they are used)
 *   2 table       table.ts     slot references, the probes (find, findFree)
 *                              and the entry format: where things are
 *   3 services    alloc.ts     the region allocator and memory growth
 *                 counters.ts  per-instance counters and their totals
 *                 owners.ts    the owner registry: attach, detach, free a
 *                              dead owner
 *                 flights.ts   fetch's single-flight table (cache maps)
 *                 ring.ts      the debug ring
 *   4 policy      policy.ts    cache mode's state: budgets, queues, ghost
 *                              table, the readers' sketch, expiry
 *   5 rules       check.ts     the consistency rules (map.check(), DEBUG
 *                              assertions); below the writers, so that
 *                              resize's assertions call down
 *   6 one key     reader.ts    lookups without the lock: all may be garbage
 *                 resize.ts    rebuild and in-place compaction, under the
 *                              shard lock
 *                 writer.ts    insert, replace, remove under the shard
 *                              lock: all is sound
 *   7 eviction    eviction.ts  S3-FIFO eviction, dropping expired entries
 *                              (sweep, purge), queueing a new entry
 *   8 operations  doors.ts     the test doors and the write path's fault
 *                              door (test build only)
 *                 ops.ts       one write operation (OP_*) under its shard
 *                              lock; clearing and purging a shard
 *                 init.ts      laying out a new map (the memory map above)
 *                 stats.ts     a locked shard's statistics and entries
 *                 recover.ts   repairing a shard or the allocator after a
 *                              writer stopped; the steps of recovering an
 *                              owner
 *   9 exports     admin.ts     the maintenance exports (shard locks,
 *                              iteration, checks, recovery, owners)
 *                 index.ts     the release build's exports: argument
 *                              checks, then one call each
 *                 test.ts      the test build's entry: index.ts plus
 *                              doors.ts
 */
