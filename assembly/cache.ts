// Cache mode: bounded shards evicting with S3-FIFO, expiry, and the
// readers' frequency sketch (Overview in layout.ts: "Cache mode").
//
// Contract: everything here runs under the shard lock (the writer's
// contract, writer.ts) except sketchBump, the one write a reader makes: into
// the shard's sketch, fixed memory laid out at init and never freed or
// reused, so even a reader that read a torn table writes only a sketch
// byte. The queues hold key-hash items, not slot numbers: rebuilds and
// compactions move entries without touching them, and an item whose key
// is gone or in the other queue is stale and skipped where it is met. (A
// key deleted and stored again before its old item comes round has two
// items: it is met early once; a policy imprecision, never a wrong entry.) The queues are advisory: a writer
// that stops anywhere leaves them readable, and recovery rebuilds them
// from the table (rebuildQueues). Nothing here is on a read's path.

import {
  HDR_CACHE, HDR_SEED, SH_COUNT, SH_SKETCH, SH_SKETCH_MASK, SH_CAP_ENTRIES, SH_CAP_BYTES, SH_LIVE_BYTES,
  SH_SMALL_COUNT, SH_SWEEP, SH_RING_CAP, SH_SMALL_RING, SH_SMALL_HEAD, SH_SMALL_LEN,
  SH_MAIN_RING, SH_MAIN_HEAD, SH_MAIN_LEN, SH_GHOST, SH_GHOST_SLOTS, GROUP_SLOTS, GROUP_SLOT_SHIFT,
  E_WORD, E_KLEN, E_KEY, MAX_PROBE_GROUPS, firstGroup, nextGroup, valueOffset, align64,
} from "./layout";
import {
  ST_OK, ST_TOO_LARGE, CACHE_ON, CACHE_TTL_SEEN, IMPLIED_ENTRY_BYTES, CNT_EVICTIONS, CNT_EXPIRATIONS,
  CHECK_OK, CHECK_CACHE_COUNTS, CHECK_CACHE_BOUND, CHECK_CACHE_QUEUE,
} from "./shared";
import { count } from "./counters";
import { tagOf, matchTag, matchEmpty, groupCtrl } from "./ctrl";
import { hashKey } from "./hash";
import { tableLoad } from "./sync";
import {
  tableCtrl, tableGroupCount, vlenOf, hasMeta, metaExpiry, inMain, queueItem, itemHashLow, itemTag, META_BYTES,
  MAIN_BIT,
} from "./words";
import { cellsOf, slotRef, refEntry, firstFull, nextFullAfter } from "./cells";
import { remove } from "./writer";

/** The most a sketch byte counts: S3-FIFO's 2-bit saturating counter. A
 *  reader writes the byte only while it is below this, so a hot key costs
 *  no shared write. */
const FREQ_CAP: u8 = 3;
/** Reads while in the small queue that move an entry to the main queue
 *  (the S3-FIFO reference's default, the paper's "freq > 1"). */
const PROMOTE_READS: u8 = 2;
/** The small queue's share of a shard's entries (S3-FIFO's 10 %). */
const SMALL_SHARE_DEN: u32 = 10;
/** Slots the expiry sweep looks at per write: it passes the whole table
 *  once per (slots / 4) writes, so expired entries are at most a fixed
 *  share of the table beyond what the write path drops on its own. */
const SWEEP_SLOTS: u32 = 4;
/** A queue ring holds 5/4 of the shard's entry bound, plus this: stale
 *  items (of deleted or expired entries) wait there until they are met, so
 *  a full ring is at least 1/5 stale and compacting it frees room. */
const RING_SLACK: u32 = 8;
/** Sketch counters per entry of the bound (a power of two). A counter is
 *  a u16: a 14-bit key fingerprint and a 2-bit count; a key has
 *  SKETCH_WAYS candidate counters side by side (8 bytes, one line), so
 *  keys rarely share or steal one. Measured on the policy test (100 keys
 *  read twice, then a scan 10x the cache): one shared byte per key lost 4
 *  of them (promoting one key reset another's count), 2-way counters 5,
 *  4-way none. */
const SKETCH_PER_ENTRY: u32 = 4;
const SKETCH_WAYS: u32 = 4;
/** Bytes of one sketch counter. */
const SKETCH_CELL_BYTES: u32 = 2;

// ---- map-wide ---------------------------------------------------------------------

// @ts-ignore: decorator
@inline export function cacheOn(hdr: usize): bool {
  return (load<u32>(hdr, HDR_CACHE) & CACHE_ON) != 0;
}

/** Note that an entry with an expiry was stored (writes then pass the time). */
// @ts-ignore: decorator
@inline export function noteTtl(hdr: usize): void {
  if ((load<u32>(hdr, HDR_CACHE) & CACHE_TTL_SEEN) == 0) atomic.or<u32>(hdr + HDR_CACHE, CACHE_TTL_SEEN);
}

/** Bytes of shard `i`'s cache area for these map-wide bounds (0 when there
 *  is no bound: a ttl-only cache has no queues). */
export function cacheAreaBytes(maxEntries: u32, maxBytes: u32, shards: u32, i: u32): u64 {
  const n = queueEntries(maxEntries, maxBytes, shards, i);
  if (n == 0) return 0;
  return align64(<u64>ringCapFor(n) * 16 + <u64>ghostSlotsFor(n) * 4 + <u64>sketchBytesFor(n));
}

/** Lay out shard `sh` (index i) for cache mode at `area` (cacheAreaBytes
 *  of it, zeroed). */
export function initCacheShard(sh: usize, area: usize, maxEntries: u32, maxBytes: u32, shards: u32, i: u32): void {
  store<u32>(sh, share(maxEntries, shards, i), SH_CAP_ENTRIES);
  store<u32>(sh, share(maxBytes, shards, i), SH_CAP_BYTES);
  const n = queueEntries(maxEntries, maxBytes, shards, i);
  if (n == 0) return;
  const cap = ringCapFor(n);
  const ghost = ghostSlotsFor(n);
  store<u32>(sh, cap, SH_RING_CAP);
  store<u32>(sh, <u32>area, SH_SMALL_RING);
  store<u32>(sh, <u32>(area + <usize>cap * 8), SH_MAIN_RING);
  store<u32>(sh, <u32>(area + <usize>cap * 16), SH_GHOST);
  store<u32>(sh, ghost, SH_GHOST_SLOTS);
  store<u32>(sh, <u32>(area + <usize>cap * 16 + <usize>ghost * 4), SH_SKETCH);
  store<u32>(sh, sketchBytesFor(n) / SKETCH_CELL_BYTES - 1, SH_SKETCH_MASK);
}

/** Shard i's share of a map-wide bound: the remainder goes one each to
 *  the first shards, so the shares add up to the bound exactly. */
function share(total: u32, shards: u32, i: u32): u32 {
  return total / shards + (i < total % shards ? 1 : 0);
}

/** Entries shard i's queues are sized for: its entry bound, or, bounded by
 *  bytes only, its byte bound / IMPLIED_ENTRY_BYTES (an implied entry
 *  bound, documented); 0 with no bound. */
function queueEntries(maxEntries: u32, maxBytes: u32, shards: u32, i: u32): u32 {
  if (maxEntries != 0) return max<u32>(1, share(maxEntries, shards, i));
  if (maxBytes != 0) return max<u32>(1, share(maxBytes, shards, i) / IMPLIED_ENTRY_BYTES);
  return 0;
}

// @ts-ignore: decorator
@inline function ringCapFor(n: u32): u32 {
  return n + n / 4 + RING_SLACK;
}
/** Ghost slots for n entries: S3-FIFO's ghost queue remembers the last
 *  0.9 x n keys evicted from the small queue; sets of GHOST_WAYS slots,
 *  each a tiny FIFO, as many as that (measured on the scan traces:
 *  direct-mapped, 2n slots cost 1-2 hit-ratio points, 4n 2-5: keys
 *  remembered too long skip the small queue; direct-mapped at 0.75n lost
 *  up to 3 points to the reference on Zipf + scans read twice). */
function ghostSlotsFor(n: u32): u32 {
  return max<u32>(GHOST_WAYS * 4, ((n - n / 10) / GHOST_WAYS) * GHOST_WAYS);
}
/** Slots of a ghost set: a new key goes first, the oldest falls out. */
const GHOST_WAYS: u32 = 4;
function sketchBytesFor(n: u32): u32 {
  return max<u32>(64, nextPow2(n) * SKETCH_PER_ENTRY * SKETCH_CELL_BYTES);
}
function nextPow2(n: u32): u32 {
  return n <= 1 ? 1 : <u32>1 << (32 - clz(n - 1));
}

/** The entry bound of a shard whose queues are sized for it: its
 *  SH_CAP_ENTRIES, or the implied one of a bytes-only cache. */
function entryBound(sh: usize): u32 {
  const cap = load<u32>(sh, SH_CAP_ENTRIES);
  if (cap != 0) return cap;
  const ring = load<u32>(sh, SH_RING_CAP);
  return ring == 0 ? 0 : ring - RING_SLACK - (ring - RING_SLACK) / 5;
}

// ---- the readers' sketch -------------------------------------------------------------

// A counter: fingerprint << 2 | count (0 = a free counter; fingerprints
// are never 0).
// @ts-ignore: decorator
@inline function printOf(low: u32, tag: u8): u16 {
  return <u16>((((low >>> 16) ^ (<u32>tag << 7)) & 0x3fff) | 1);
}

/** The first of the SKETCH_WAYS candidate counters of a key (hash low
 *  bits), 0 if the shard has no sketch; the others follow it. */
// @ts-ignore: decorator
@inline function sketchPair(sh: usize, low: u32): usize {
  const sk = load<u32>(sh, SH_SKETCH);
  if (sk == 0) return 0;
  return <usize>sk + ((<usize>(low & load<u32>(sh, SH_SKETCH_MASK)) & ~(<usize>SKETCH_WAYS - 1)) << 1);
}

/** The key's counter among those at `p` (its fingerprint `fp`), or 0. */
// @ts-ignore: decorator
@inline function counterOf(p: usize, fp: u16): usize {
  for (let i: u32 = 0; i < SKETCH_WAYS; i++) {
    if ((load<u16>(p + (i << 1)) >> 2) == fp) return p + (i << 1);
  }
  return 0;
}

/** A reader found the key of hash h in shard `sh`: count the read in the
 *  key's sketch counter, unless the count is at the cap already (then
 *  nothing is written) or the key has no counter. Safe for any reader: the
 *  sketch never moves. */
// @ts-ignore: decorator
@inline export function sketchBump(sh: usize, h: u64): void {
  const p = sketchPair(sh, <u32>h);
  if (p == 0) return;
  const c = counterOf(p, printOf(<u32>h, tagOf(h)));
  if (c == 0) return;
  const v = load<u16>(c);
  if ((v & 3) < <u16>FREQ_CAP) store<u16>(c, v + 1);
}

/** The read count of a queued key (0 if it has no counter). */
function readsOf(sh: usize, item: u64): u8 {
  const p = sketchPair(sh, itemHashLow(item));
  if (p == 0) return 0;
  const c = counterOf(p, printOf(itemHashLow(item), itemTag(item)));
  return c == 0 ? 0 : <u8>(load<u16>(c) & 3);
}

/** Set a queued key's read count (if it has a counter). */
function setReads(sh: usize, item: u64, n: u8): void {
  const p = sketchPair(sh, itemHashLow(item));
  if (p == 0) return;
  const fp = printOf(itemHashLow(item), itemTag(item));
  const c = counterOf(p, fp);
  if (c != 0) store<u16>(c, (fp << 2) | <u16>n);
}

/** Give a new key a counter at 0: its own if it still has one, else a
 *  free one of its pair, else the one with the lower count (whose key
 *  loses its reads: rare, see SKETCH_PER_ENTRY). */
function sketchAdmit(sh: usize, h: u64): void {
  const p = sketchPair(sh, <u32>h);
  if (p == 0) return;
  const fp = printOf(<u32>h, tagOf(h));
  let c = counterOf(p, fp);
  if (c == 0) {
    // A free counter (0), else the one with the fewest reads.
    c = p;
    for (let i: u32 = 1; i < SKETCH_WAYS && load<u16>(c) != 0; i++) {
      const q = p + (i << 1);
      if (load<u16>(q) == 0 || (load<u16>(q) & 3) < (load<u16>(c) & 3)) c = q;
    }
  }
  store<u16>(c, fp << 2);
}

// ---- entries -------------------------------------------------------------------

/** Address of the meta word of entry `e` (which has one). */
// @ts-ignore: decorator
@inline export function metaAt(e: usize): usize {
  return e + valueOffset(<u32>load<u16>(e, E_KLEN));
}

/** Has entry `e` an expiry that passed at `now` (ms; 0 = the caller knows
 *  of no clock: nothing expires)? */
// @ts-ignore: decorator
@inline function entryExpired(e: usize, now: f64): bool {
  if (now == 0 || !hasMeta(load<u32>(e, E_WORD))) return false;
  const x = metaExpiry(load<u64>(metaAt(e)));
  return x != 0 && <f64>x <= now;
}

/** Has the entry at slot `ref` an expiry that passed at `now`? */
export function refExpired(ref: u32, now: f64): bool {
  return entryExpired(refEntry(ref), now);
}

/** Key + value bytes of entry `e` (what maxBytes counts): without its meta. */
// @ts-ignore: decorator
@inline export function entryKv(e: usize): u32 {
  const w = load<u32>(e, E_WORD);
  return <u32>load<u16>(e, E_KLEN) + vlenOf(w) - (hasMeta(w) ? META_BYTES : 0);
}

/** The queue bit of a new entry of hash h: MAIN_BIT if the ghost table
 *  remembers the key (taking it out of the table), else 0 (small). */
export function newQueueBit(sh: usize, h: u64): u32 {
  return ghostTake(sh, <u32>h, tagOf(h)) ? MAIN_BIT : 0;
}

/** A new entry (hash h, stored word w, `kv` key + value bytes) was
 *  published: count it and queue it. */
export function admitted(hdr: usize, sh: usize, scratch: usize, h: u64, w: u32, kv: u32, now: f64): void {
  store<u32>(sh, load<u32>(sh, SH_LIVE_BYTES) + kv, SH_LIVE_BYTES);
  const main = inMain(w);
  if (!main) store<u32>(sh, load<u32>(sh, SH_SMALL_COUNT) + 1, SH_SMALL_COUNT);
  if (load<u32>(sh, SH_RING_CAP) == 0) return;
  sketchAdmit(sh, h);
  pushItem(hdr, sh, scratch, main, queueItem(h, tagOf(h)), now);
}

/** The entry at `e` is being removed: uncount it (its queue item goes
 *  stale). */
export function leaving(sh: usize, e: usize): void {
  store<u32>(sh, load<u32>(sh, SH_LIVE_BYTES) - entryKv(e), SH_LIVE_BYTES);
  if (!inMain(load<u32>(e, E_WORD))) store<u32>(sh, load<u32>(sh, SH_SMALL_COUNT) - 1, SH_SMALL_COUNT);
}

/** An entry's key + value bytes change from `oldKv` to `newKv` in place. */
export function resized(sh: usize, oldKv: u32, newKv: u32): void {
  store<u32>(sh, load<u32>(sh, SH_LIVE_BYTES) - oldKv + newKv, SH_LIVE_BYTES);
}

/** Is an entry of `kv` key + value bytes more than the shard's byte
 *  budget allows at all? */
export function tooLarge(sh: usize, kv: u32): bool {
  const cap = load<u32>(sh, SH_CAP_BYTES);
  return cap != 0 && kv > cap;
}

/** Would `kv` more bytes pass the shard's byte bound? */
export function overBytes(sh: usize, kv: u32): bool {
  const cap = load<u32>(sh, SH_CAP_BYTES);
  return cap != 0 && <u64>load<u32>(sh, SH_LIVE_BYTES) + kv > <u64>cap;
}

/** The shard was emptied (clear). */
export function cleared(sh: usize): void {
  store<u32>(sh, 0, SH_LIVE_BYTES);
  store<u32>(sh, 0, SH_SMALL_COUNT);
  store<u32>(sh, 0, SH_SMALL_HEAD);
  store<u32>(sh, 0, SH_SMALL_LEN);
  store<u32>(sh, 0, SH_MAIN_HEAD);
  store<u32>(sh, 0, SH_MAIN_LEN);
}

// ---- making room ---------------------------------------------------------------

/** Evict (or drop expired entries) until one more entry of `kv` key +
 *  value bytes fits the shard's budgets. ST_OK, or ST_TOO_LARGE if it
 *  could never fit (nothing is evicted then). */
export function makeRoom(hdr: usize, sh: usize, scratch: usize, kv: u32, now: f64): i32 {
  if (tooLarge(sh, kv)) return ST_TOO_LARGE;
  const bound = entryBound(sh);
  while ((bound != 0 && load<u32>(sh, SH_COUNT) >= bound) || overBytes(sh, kv)) {
    // Nothing left in the queues: cannot happen in a sound shard (every
    // live entry is queued); insert over the bound rather than loop.
    if (!evictOne(hdr, sh, scratch, now)) break;
  }
  return ST_OK;
}

/** Take out one entry by S3-FIFO, as the reference implementation does:
 *  from the small queue while it holds more than its share (or main is
 *  empty), moving on to main every entry read twice until one is evicted;
 *  else from main, giving entries read since their last pass another one.
 *  An expired entry met on the way is dropped instead. True if an entry
 *  left, false if the queues ran dry. */
function evictOne(hdr: usize, sh: usize, scratch: usize, now: f64): bool {
  const live = load<u32>(sh, SH_COUNT);
  const small = load<u32>(sh, SH_SMALL_COUNT);
  const bound = max<u32>(entryBound(sh), live);
  const smallTarget = max<u32>(1, bound / SMALL_SHARE_DEN);
  if (small != 0 && live - small <= bound - smallTarget && evictFrom(hdr, sh, scratch, false, now)) return true;
  return evictFrom(hdr, sh, scratch, true, now) || evictFrom(hdr, sh, scratch, false, now);
}

/** Pop items of one queue until an entry leaves (true) or the queue is
 *  empty (false): a small-queue entry read twice moves to main, a main
 *  entry read since its last pass goes round again with one read less. */
function evictFrom(hdr: usize, sh: usize, scratch: usize, fromMain: bool, now: f64): bool {
  const t = tableLoad(sh);
  const seed = load<u64>(hdr, HDR_SEED);
  const lenAt = sh + (fromMain ? SH_MAIN_LEN : SH_SMALL_LEN);
  // Each main item comes round at most FREQ_CAP + 1 times.
  let budget = load<u32>(lenAt) * (<u32>FREQ_CAP + 1) + 1;
  while (load<u32>(lenAt) != 0 && budget-- > 0) {
    const item = popItem(sh, fromMain);
    const ref = locate(t, item, seed);
    if (ref == 0) continue; // stale
    const e = refEntry(ref);
    const w = load<u32>(e, E_WORD);
    if (inMain(w) != fromMain) continue; // not this queue's: stale
    if (entryExpired(e, now)) {
      drop(hdr, sh, ref, scratch, CNT_EXPIRATIONS);
      return true;
    }
    const f = readsOf(sh, item);
    if (!fromMain) {
      if (f >= PROMOTE_READS) {
        setReads(sh, item, 0);
        // Only the queue bit changes, which readers do not look at: one
        // store, no seq bump.
        atomic.store<u32>(e, w | MAIN_BIT, E_WORD);
        store<u32>(sh, load<u32>(sh, SH_SMALL_COUNT) - 1, SH_SMALL_COUNT);
        pushItem(hdr, sh, scratch, true, item, now);
        continue;
      }
      ghostPut(sh, itemHashLow(item), itemTag(item));
    } else if (f >= 1) {
      setReads(sh, item, f - 1);
      pushItem(hdr, sh, scratch, true, item, now);
      continue;
    }
    drop(hdr, sh, ref, scratch, CNT_EVICTIONS);
    return true;
  }
  return false;
}

/** Remove the entry at `ref`, counting it as counter `why`. */
function drop(hdr: usize, sh: usize, ref: u32, scratch: usize, why: i32): void {
  remove(hdr, sh, ref, <u32>load<u16>(refEntry(ref), E_KLEN));
  if (scratch != 0) count(scratch, <u32>why, 1);
}

/** Drop up to SWEEP_SLOTS expired entries from the slots at the shard's
 *  sweep cursor on, and move the cursor on. */
export function sweep(hdr: usize, sh: usize, scratch: usize, now: f64): void {
  if (now == 0) return;
  const t = tableLoad(sh);
  const slots = tableGroupCount(t) * GROUP_SLOTS;
  let c = load<u32>(sh, SH_SWEEP);
  if (c >= slots) c = 0;
  const ctrl = tableCtrl(t);
  const cells = cellsOf(t);
  for (let k: u32 = 0; k < min(SWEEP_SLOTS, slots); k++) {
    // SAFETY: c < slots; FULL control bytes have the top bit clear.
    if (load<u8>(<usize>ctrl + c) < 0x80) {
      const ref = slotRef(cells, c >> GROUP_SLOT_SHIFT, c & (GROUP_SLOTS - 1));
      if (refExpired(ref, now)) drop(hdr, sh, ref, scratch, CNT_EXPIRATIONS);
    }
    c = c + 1 == slots ? 0 : c + 1;
  }
  store<u32>(sh, c, SH_SWEEP);
}

/** Drop every expired entry of the shard; returns how many. */
export function purgeShard(hdr: usize, sh: usize, scratch: usize, now: f64): u32 {
  const t = tableLoad(sh);
  let n: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    if (refExpired(r, now)) {
      drop(hdr, sh, r, scratch, CNT_EXPIRATIONS);
      n++;
    }
  }
  return n;
}

// ---- queues ------------------------------------------------------------------

/** Find the live entry a queue item names: the slot whose tag matches on
 *  the item's probe path and whose key hashes to the item's low bits; 0
 *  if none (stale). */
function locate(t: u64, item: u64, seed: u64): u32 {
  const ctrl = tableCtrl(t);
  const n = tableGroupCount(t);
  const cells = cellsOf(t);
  const low = itemHashLow(item);
  const tag = itemTag(item);
  let g = firstGroup(<u64>low, n);
  const limit = min(MAX_PROBE_GROUPS, n);
  for (let p: u32 = 0; p < limit; p++) {
    const c = groupCtrl(ctrl, g);
    let mt = matchTag(c, tag);
    while (mt != 0) {
      const ref = slotRef(cells, g, <u32>ctz(mt));
      mt &= mt - 1;
      const e = refEntry(ref);
      if (<u32>hashKey(e + E_KEY, <u32>load<u16>(e, E_KLEN), seed) == low) return ref;
    }
    if (matchEmpty(c) != 0) return 0;
    g = nextGroup(g, p + 1, n);
  }
  return 0;
}

// @ts-ignore: decorator
@inline function ringOf(sh: usize, main: bool): usize {
  return <usize>load<u32>(sh + (main ? SH_MAIN_RING : SH_SMALL_RING));
}

/** Take the oldest item of a queue (which has one). */
function popItem(sh: usize, main: bool): u64 {
  const headAt = sh + (main ? SH_MAIN_HEAD : SH_SMALL_HEAD);
  const lenAt = sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN);
  const head = load<u32>(headAt);
  const item = load<u64>(ringOf(sh, main) + (<usize>head << 3));
  store<u32>(headAt, head + 1 == load<u32>(sh, SH_RING_CAP) ? 0 : head + 1);
  store<u32>(lenAt, load<u32>(lenAt) - 1);
  return item;
}

/** Append an item to a queue, making room first if its ring is full. */
function pushItem(hdr: usize, sh: usize, scratch: usize, main: bool, item: u64, now: f64): void {
  const cap = load<u32>(sh, SH_RING_CAP);
  const lenAt = sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN);
  if (load<u32>(lenAt) == cap) compactRing(hdr, sh, main);
  while (load<u32>(lenAt) == cap) {
    // Full of live items (cannot happen while the shard is within its
    // bound: see RING_SLACK): evict the oldest.
    const old = popItem(sh, main);
    const ref = locate(tableLoad(sh), old, load<u64>(hdr, HDR_SEED));
    if (ref != 0) drop(hdr, sh, ref, scratch, CNT_EVICTIONS);
  }
  const len = load<u32>(lenAt);
  let i = load<u32>(sh + (main ? SH_MAIN_HEAD : SH_SMALL_HEAD)) + len;
  if (i >= cap) i -= cap;
  store<u64>(ringOf(sh, main) + (<usize>i << 3), item);
  store<u32>(lenAt, len + 1);
}

/** Drop a queue's stale items, keeping the order of the others. */
function compactRing(hdr: usize, sh: usize, main: bool): void {
  const t = tableLoad(sh);
  const seed = load<u64>(hdr, HDR_SEED);
  const ring = ringOf(sh, main);
  const cap = load<u32>(sh, SH_RING_CAP);
  const head = load<u32>(sh + (main ? SH_MAIN_HEAD : SH_SMALL_HEAD));
  const lenAt = sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN);
  const len = load<u32>(lenAt);
  let kept: u32 = 0;
  for (let k: u32 = 0; k < len; k++) {
    let i = head + k;
    if (i >= cap) i -= cap;
    const item = load<u64>(ring + (<usize>i << 3));
    const ref = locate(t, item, seed);
    if (ref == 0 || inMain(load<u32>(refEntry(ref), E_WORD)) != main) continue;
    let j = head + kept;
    if (j >= cap) j -= cap;
    store<u64>(ring + (<usize>j << 3), item);
    kept++;
  }
  store<u32>(lenAt, kept);
}

// ---- ghost table ---------------------------------------------------------------

/** A key's ghost fingerprint (never 0, which marks an empty slot). */
// @ts-ignore: decorator
@inline function ghostPrint(low: u32, tag: u8): u32 {
  return (low ^ (<u32>tag << 25)) | 1;
}

/** The first slot of the key's ghost set. */
// @ts-ignore: decorator
@inline function ghostSet(sh: usize, low: u32): usize {
  const sets = load<u32>(sh, SH_GHOST_SLOTS) / GHOST_WAYS;
  return <usize>load<u32>(sh, SH_GHOST) + (<usize>(low % sets) * GHOST_WAYS << 2);
}

/** Remember a key evicted from the small queue: first in its set. */
function ghostPut(sh: usize, low: u32, tag: u8): void {
  if (load<u32>(sh, SH_GHOST) == 0) return;
  const p = ghostSet(sh, low);
  for (let i: u32 = GHOST_WAYS - 1; i > 0; i--) store<u32>(p + (i << 2), load<u32>(p + ((i - 1) << 2)));
  store<u32>(p, ghostPrint(low, tag));
}

/** Is the key (hash low bits, tag) in the ghost table? Takes it out. */
function ghostTake(sh: usize, low: u32, tag: u8): bool {
  if (load<u32>(sh, SH_GHOST) == 0) return false;
  const p = ghostSet(sh, low);
  const fp = ghostPrint(low, tag);
  for (let i: u32 = 0; i < GHOST_WAYS; i++) {
    if (load<u32>(p + (i << 2)) == fp) {
      store<u32>(p + (i << 2), 0);
      return true;
    }
  }
  return false;
}

// ---- recovery and checks ---------------------------------------------------------

/** Recount a cache shard and rebuild its queues from its table (after a
 *  writer stopped anywhere; the caller holds the lock). Entries keep their
 *  queue (main or small) but not their order in it. */
export function rebuildQueues(hdr: usize, sh: usize): void {
  cleared(sh);
  const t = tableLoad(sh);
  const seed = load<u64>(hdr, HDR_SEED);
  const queued = load<u32>(sh, SH_RING_CAP) != 0;
  let bytes: u32 = 0;
  let small: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    const e = refEntry(r);
    bytes += entryKv(e);
    const main = inMain(load<u32>(e, E_WORD));
    if (!main) small++;
    if (!queued) continue;
    const h = hashKey(e + E_KEY, <u32>load<u16>(e, E_KLEN), seed);
    const lenAt = sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN);
    const len = load<u32>(lenAt);
    if (len == load<u32>(sh, SH_RING_CAP)) continue; // over the bound: check() says so
    store<u64>(ringOf(sh, main) + (<usize>len << 3), queueItem(h, tagOf(h)));
    store<u32>(lenAt, len + 1);
  }
  store<u32>(sh, bytes, SH_LIVE_BYTES);
  store<u32>(sh, small, SH_SMALL_COUNT);
}

/** The cache rules of a shard (see checkShardLocked): counts right, within
 *  its budgets, as many queue items naming live entries of their own queue
 *  as live entries. CHECK_OK or the broken rule. */
export function checkCacheShard(hdr: usize, sh: usize): u32 {
  const t = tableLoad(sh);
  let bytes: u32 = 0;
  let small: u32 = 0;
  let live: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    const e = refEntry(r);
    live++;
    bytes += entryKv(e);
    if (!inMain(load<u32>(e, E_WORD))) small++;
  }
  if (bytes != load<u32>(sh, SH_LIVE_BYTES) || small != load<u32>(sh, SH_SMALL_COUNT)) return CHECK_CACHE_COUNTS;
  const capE = load<u32>(sh, SH_CAP_ENTRIES);
  const capB = load<u32>(sh, SH_CAP_BYTES);
  if ((capE != 0 && live > capE) || (capB != 0 && bytes > capB)) return CHECK_CACHE_BOUND;
  if (load<u32>(sh, SH_RING_CAP) == 0) return CHECK_OK;
  // Every live entry is named by one item of its own queue.
  const seed = load<u64>(hdr, HDR_SEED);
  let named: u32 = 0;
  for (let q = 0; q < 2; q++) {
    const main = q == 1;
    const ring = ringOf(sh, main);
    const cap = load<u32>(sh, SH_RING_CAP);
    const head = load<u32>(sh + (main ? SH_MAIN_HEAD : SH_SMALL_HEAD));
    const len = load<u32>(sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN));
    if (head >= cap || len > cap) return CHECK_CACHE_QUEUE;
    for (let k: u32 = 0; k < len; k++) {
      let i = head + k;
      if (i >= cap) i -= cap;
      const ref = locate(t, load<u64>(ring + (<usize>i << 3)), seed);
      if (ref != 0 && inMain(load<u32>(refEntry(ref), E_WORD)) == main) named++;
    }
  }
  // (A key stored again before its old item came round is named twice.)
  return named >= live ? CHECK_OK : CHECK_CACHE_QUEUE;
}
