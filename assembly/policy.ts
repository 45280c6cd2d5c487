// A cache map's policy state: the per-shard budgets and counts, the
// S3-FIFO queues (rings of key-hash items), the ghost table and the
// readers' frequency sketch, and the expiry test (Overview in overview.ts:
// "Cache mode"). The decisions that take entries out (evict, expire,
// sweep) are eviction.ts's, one rank up, because they remove entries
// through the writer; this file only keeps the state they and the writer
// read and update, and so removes nothing.
//
// Contract: everything here runs under the shard lock (the writer's
// contract, writer.ts) except sketchBump, the one write a reader makes: into
// the shard's sketch, fixed memory laid out at init and never freed or
// reused, so even a reader that read a torn table writes only a sketch
// byte. The queues hold key-hash items, not slot numbers: rebuilds and
// compactions move entries without touching them, and an item whose key
// is gone or in the other queue is stale and skipped where it is met. (A
// key deleted and stored again before its old item comes round has two
// items: it is met early once; a policy imprecision, never a wrong entry.)
// The queues are advisory: a writer that stops anywhere leaves them
// readable, and recovery rebuilds them from the table (recover.ts:
// rebuildQueues). Nothing here is on a read's path but sketchBump.

import {
  HDR_CACHE, HDR_SEED, SH_SKETCH, SH_SKETCH_MASK, SH_CAP_ENTRIES, SH_CAP_BYTES, SH_LIVE_BYTES,
  SH_SMALL_COUNT, SH_RING_CAP, SH_SMALL_RING, SH_SMALL_HEAD, SH_SMALL_LEN,
  SH_MAIN_RING, SH_MAIN_HEAD, SH_MAIN_LEN, SH_GHOST, SH_GHOST_SLOTS,
  E_WORD, E_KLEN, E_KEY, MAX_PROBE_GROUPS, firstGroup, nextGroup, align64,
} from "./layout";
import { CACHE_ON, CACHE_TTL_SEEN, IMPLIED_ENTRY_BYTES } from "./shared";
import { tagOf, matchTag, matchEmpty, groupCtrl } from "./ctrl";
import { hashKey } from "./hash";
import { tableLoad } from "./sync";
import {
  tableCtrl, tableGroupCount, vlenOf, hasMeta, metaExpiry, inMain, itemHashLow, itemTag, META_BYTES, MAIN_BIT,
} from "./words";
import { cellsOf, slotRef, refEntry, metaAt } from "./table";

/** The most a sketch byte counts: S3-FIFO's 2-bit saturating counter. A
 *  reader writes the byte only while it is below this, so a hot key costs
 *  no shared write. */
export const FREQ_CAP: u8 = 3;
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
export function entryBound(sh: usize): u32 {
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
export function readsOf(sh: usize, item: u64): u8 {
  const p = sketchPair(sh, itemHashLow(item));
  if (p == 0) return 0;
  const c = counterOf(p, printOf(itemHashLow(item), itemTag(item)));
  return c == 0 ? 0 : <u8>(load<u16>(c) & 3);
}

/** Set a queued key's read count (if it has a counter). */
export function setReads(sh: usize, item: u64, n: u8): void {
  const p = sketchPair(sh, itemHashLow(item));
  if (p == 0) return;
  const fp = printOf(itemHashLow(item), itemTag(item));
  const c = counterOf(p, fp);
  if (c != 0) store<u16>(c, (fp << 2) | <u16>n);
}

/** Give a new key a counter at 0: its own if it still has one, else a
 *  free one of its pair, else the one with the lower count (whose key
 *  loses its reads: rare, see SKETCH_PER_ENTRY). */
export function sketchAdmit(sh: usize, h: u64): void {
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

// ---- entries, budgets and counts ------------------------------------------------

/** Has entry `e` an expiry that passed at `now` (ms; 0 = the caller knows
 *  of no clock: nothing expires)? */
// @ts-ignore: decorator
@inline export function entryExpired(e: usize, now: f64): bool {
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

/** A new entry (stored word w, `kv` key + value bytes) was published:
 *  count it (its queue item is eviction.ts's admit, which calls this). */
export function counted(sh: usize, w: u32, kv: u32): void {
  store<u32>(sh, load<u32>(sh, SH_LIVE_BYTES) + kv, SH_LIVE_BYTES);
  if (!inMain(w)) store<u32>(sh, load<u32>(sh, SH_SMALL_COUNT) + 1, SH_SMALL_COUNT);
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

// ---- queues ------------------------------------------------------------------

/** Find the live entry a queue item names: the slot whose tag matches on
 *  the item's probe path and whose key hashes to the item's low bits; 0
 *  if none (stale). */
export function locate(t: u64, item: u64, seed: u64): u32 {
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
@inline export function ringOf(sh: usize, main: bool): usize {
  return <usize>load<u32>(sh + (main ? SH_MAIN_RING : SH_SMALL_RING));
}

/** Take the oldest item of a queue (which has one). */
export function popItem(sh: usize, main: bool): u64 {
  const headAt = sh + (main ? SH_MAIN_HEAD : SH_SMALL_HEAD);
  const lenAt = sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN);
  const head = load<u32>(headAt);
  const item = load<u64>(ringOf(sh, main) + (<usize>head << 3));
  store<u32>(headAt, head + 1 == load<u32>(sh, SH_RING_CAP) ? 0 : head + 1);
  store<u32>(lenAt, load<u32>(lenAt) - 1);
  return item;
}

/** Is a queue's ring full (stale items included)? */
// @ts-ignore: decorator
@inline export function ringFull(sh: usize, main: bool): bool {
  return load<u32>(sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN)) == load<u32>(sh, SH_RING_CAP);
}

/** Append an item to a queue whose ring is not full (eviction.ts's
 *  pushItem makes room first). */
export function appendItem(sh: usize, main: bool, item: u64): void {
  const cap = load<u32>(sh, SH_RING_CAP);
  const lenAt = sh + (main ? SH_MAIN_LEN : SH_SMALL_LEN);
  const len = load<u32>(lenAt);
  let i = load<u32>(sh + (main ? SH_MAIN_HEAD : SH_SMALL_HEAD)) + len;
  if (i >= cap) i -= cap;
  store<u64>(ringOf(sh, main) + (<usize>i << 3), item);
  store<u32>(lenAt, len + 1);
}

/** Drop a queue's stale items, keeping the order of the others. */
export function compactRing(hdr: usize, sh: usize, main: bool): void {
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
export function ghostPut(sh: usize, low: u32, tag: u8): void {
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
