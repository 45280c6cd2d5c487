// Taking entries out of a cache shard, under its lock: S3-FIFO eviction
// to keep a shard within its budgets, dropping expired entries (met on the
// way, by the sweep, by purge), and queueing a new entry (a full ring may
// cost an eviction). Overview in overview.ts: "Cache mode".
//
// Contract: the caller holds the shard lock (the writer's contract,
// writer.ts). Every entry leaves through the writer's remove, so each
// removal is published as the writer publishes it; the policy state read
// and updated here (queues, ghost table, sketch, counts) is policy.ts's.
// Called by the write operations (ops.ts) and the purge export, never by
// a reader.

import {
  HDR_SEED, SH_COUNT, SH_SMALL_COUNT, SH_SWEEP, SH_RING_CAP, SH_SMALL_LEN, SH_MAIN_LEN, GROUP_SLOTS,
  GROUP_SLOT_SHIFT, E_WORD, E_KLEN,
} from "./layout";
import { ST_OK, ST_TOO_LARGE, CNT_EVICTIONS, CNT_EXPIRATIONS } from "./shared";
import { count } from "./counters";
import { tagOf } from "./ctrl";
import { tableLoad } from "./sync";
import { tableCtrl, tableGroupCount, inMain, queueItem, itemHashLow, itemTag, MAIN_BIT } from "./words";
import { cellsOf, slotRef, refEntry, firstFull, nextFullAfter } from "./table";
import {
  FREQ_CAP, entryBound, tooLarge, overBytes, entryExpired, refExpired, counted, sketchAdmit, readsOf, setReads,
  locate, popItem, ringFull, appendItem, compactRing, ghostPut,
} from "./policy";
import { remove } from "./writer";

/** Reads while in the small queue that move an entry to the main queue
 *  (the S3-FIFO reference's default, the paper's "freq > 1"). */
const PROMOTE_READS: u8 = 2;
/** The small queue's share of a shard's entries (S3-FIFO's 10 %). */
const SMALL_SHARE_DEN: u32 = 10;
/** Slots the expiry sweep looks at per write: it passes the whole table
 *  once per (slots / 4) writes, so expired entries are at most a fixed
 *  share of the table beyond what the write path drops on its own. */
const SWEEP_SLOTS: u32 = 4;

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
  remove(hdr, sh, ref, <u32>load<u16>(refEntry(ref), E_KLEN), 0);
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

// ---- queueing ------------------------------------------------------------------

/** A new entry (hash h, stored word w, `kv` key + value bytes) was
 *  published: count it and queue it. */
export function admit(hdr: usize, sh: usize, scratch: usize, h: u64, w: u32, kv: u32, now: f64): void {
  counted(sh, w, kv);
  if (load<u32>(sh, SH_RING_CAP) == 0) return;
  sketchAdmit(sh, h);
  pushItem(hdr, sh, scratch, inMain(w), queueItem(h, tagOf(h)), now);
}

/** Append an item to a queue, making room first if its ring is full. */
function pushItem(hdr: usize, sh: usize, scratch: usize, main: bool, item: u64, now: f64): void {
  if (ringFull(sh, main)) compactRing(hdr, sh, main);
  while (ringFull(sh, main)) {
    // Full of live items (cannot happen while the shard is within its
    // bound: see RING_SLACK in policy.ts): evict the oldest.
    const old = popItem(sh, main);
    const ref = locate(tableLoad(sh), old, load<u64>(hdr, HDR_SEED));
    if (ref != 0) drop(hdr, sh, ref, scratch, CNT_EVICTIONS);
  }
  appendItem(sh, main, item);
}
