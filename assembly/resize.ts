// Making room in a shard, under its lock: rebuilding its region beside the
// old one (grow, shrink, drop tombstones and dead entries, clear) and
// compacting a small heap in place.
//
// Contract: the caller holds the shard lock; the table is sound before and
// after. A rebuild is invisible to readers until one atomic store of the
// table word; an in-place compaction runs under an odd seq. A writer that
// stops anywhere in either leaves what recover.ts repairs (Overview in
// overview.ts: "Resize", "Crash consistency").

import {
  SH_COUNT, SH_USED, SH_HEAP_TOP, SH_HEAP_END, SH_REGION, SH_REGION_BYTES, SH_DEAD,
  SH_PENDING, SH_PENDING_BYTES, SH_RETIRED, SH_RETIRED_BYTES, HDR_SEED, HDR_MIN_GROUPS,
  GROUP_SLOTS, CELL_BYTES, CELL_ADDR, E_KLEN, E_KEY, tableBytes, entryBytesAt, align64,
  REBUILD_LOAD_NUM, REBUILD_LOAD_DEN, LOAD_DEN, maxLoadNum, HEAP_SLACK_NUM, HEAP_SLACK_DEN, HEAP_CHURN_SLACK_NUM, HEAP_CHURN_SLACK_DEN, HEAP_ROOM_ENTRIES, MIN_HEAP_BYTES, crowdedGroups,
} from "./layout";
import { ST_OK, ST_BUSY, ST_FULL, CHECK_OK, CNT_RESIZES } from "./shared";
import { count, scratchOfId } from "./counters";
import { DEBUG } from "./build";
import { tagOf, fillEmpty } from "./ctrl";
import { hashKey } from "./hash";
import { seqBegin, seqEnd, seqRetire, tableLoad, tablePublish, epochNext, stripesBumpAll } from "./sync";
import { tableWord, tableCtrl, tableGroupCount } from "./words";
import {
  find, findFree, memBytes, writeFiller, heapHasRoom, heapStartOf, refCtrl, isOutline, outlineCell, refEntry,
  firstFull, nextFullAfter,
} from "./table";
import { allocRegion, freeRegion, freeRegionWaiting, ALLOC_BUSY, ALLOC_FULL, MAX_REGION_BYTES } from "./alloc";
import { checkShardLocked } from "./check";

/** Most groups of one table: 2^24 groups of 16 slots at 33 bytes each
 *  would pass the 4 GiB a u32 address reaches, so no table gets there;
 *  a request for more is refused as FULL rather than overflowing. */
export const MAX_GROUPS: u32 = 1 << 24;

/** Heaps up to this size are compacted in place when full of dead entries,
 *  rather than rebuilt into a new region: for the many small shards of a
 *  churning map this keeps the shared allocator (and its lock) out of the
 *  way. Readers retry during it (seq is odd), for at most a few µs. */
const COMPACT_IN_PLACE_MAX: u32 = 4096;

/** Free the shard's retired region if any; false if the allocator is busy. */
export function freeRetired(hdr: usize, sh: usize, id: u32): bool {
  return freeRegion(hdr, id, sh + SH_RETIRED, load<u32>(sh, SH_RETIRED_BYTES));
}

/** Make room for `size` heap bytes by sliding live entries down over dead
 *  ones, in address order, when the heap is small and mostly dead. An
 *  entry moves only to space that does not overlap it, and its cell is
 *  repointed with one store after the copy, so a stop at any instruction
 *  leaves every cell pointing at an intact entry (the bytes between then
 *  need recovery's fillHeapGaps to parse again). True if there is room.
 *  Relies on the heap parsing entry by entry from its start to its top. */
function compactInPlace(hdr: usize, sh: usize, size: u32): bool {
  const t = tableLoad(sh);
  const heapStart = heapStartOf(t);
  const top = load<u32>(sh, SH_HEAP_TOP);
  const end = load<u32>(sh, SH_HEAP_END);
  const dead = load<u32>(sh, SH_DEAD);
  if (end - heapStart > COMPACT_IN_PLACE_MAX || <u64>top - dead + size > <u64>end) return false;
  const seed = load<u64>(hdr, HDR_SEED);
  const mem = memBytes(hdr);
  seqBegin(sh);
  epochNext(hdr, sh);
  let dst = heapStart;
  let e = heapStart;
  while (e < top) {
    const klen = <u32>load<u16>(e, E_KLEN);
    const bytes = entryBytesAt(e);
    const ref = find(t, hashKey(<usize>e + E_KEY, klen, seed), <usize>e + E_KEY, klen, mem);
    if (ref != 0 && isOutline(ref) && load<u32>(ref, CELL_ADDR) == e) {
      if (dst + bytes <= e) {
        memory.copy(dst, e, bytes);
        store<u32>(ref, dst, CELL_ADDR);
        dst += bytes;
      } else {
        // It would overlap its new place: leave it where it is, and turn
        // the gap before it into one dead filler entry.
        if (e > dst) writeFiller(dst, e - dst);
        dst = e + bytes;
      }
    }
    e += bytes;
  }
  store<u32>(sh, dst, SH_HEAP_TOP);
  store<u32>(sh, load<u32>(sh, SH_DEAD) - (top - dst), SH_DEAD);
  seqEnd(sh);
  if (DEBUG) assert(checkShardLocked(hdr, sh) == CHECK_OK, "shard unsound after an in-place compaction");
  return heapHasRoom(sh, size);
}

/** Make sure the heap has `size` more bytes, compacting or rebuilding (for
 *  `want` live entries: the table keeps its size unless they need more,
 *  since its own load rebuilds it when it fills; regrowing it to
 *  REBUILD_LOAD on every heap rebuild kept tables emptier than their
 *  load needs). ST_OK, ST_FULL or ST_BUSY. */
export function reserveHeap(hdr: usize, sh: usize, id: u32, size: u32, want: u32): i32 {
  if (size == 0 || heapHasRoom(sh, size) || compactInPlace(hdr, sh, size)) return ST_OK;
  const groups = tableGroupCount(tableLoad(sh));
  const slots = <u64>groups * GROUP_SLOTS;
  const fits = <u64>want * LOAD_DEN <= slots * maxLoadNum(sh);
  return rebuild(hdr, sh, id, fits ? 0 : want, size, fits ? groups : 0, true);
}

/** Build a new region for the shard and switch to it (see "Resize" in
 *  overview.ts). It holds `want` live entries at most REBUILD_LOAD full (and
 *  at least `minGroups` groups) and `extraBytes` more heap than the live
 *  entries take. Every entry that fits a cell goes inline. With keep =
 *  false the new table is empty (clear).
 *  ST_OK, ST_FULL (nothing changed) or ST_BUSY (allocator; nothing changed). */
export function rebuild(
  hdr: usize, sh: usize, id: u32, want: u32, extraBytes: u32, minGroups: u32, keep: bool,
): i32 {
  if (!freeRetired(hdr, sh, id)) return ST_BUSY;
  const seed = load<u64>(hdr, HDR_SEED);
  const old = tableLoad(sh);
  const oldRegion = load<u32>(sh, SH_REGION);
  // Enough groups for `want` entries at REBUILD_LOAD (rounded up).
  const perGroup = <u64>GROUP_SLOTS * REBUILD_LOAD_NUM;
  let groupCount = max(
    <u64>max(minGroups, load<u32>(hdr, HDR_MIN_GROUPS)),
    (<u64>want * REBUILD_LOAD_DEN + perGroup - 1) / perGroup,
  );
  let liveBytes: u64 = 0;
  let deadBytes: u64 = 0;
  if (keep && oldRegion != 0) {
    deadBytes = <u64>load<u32>(sh, SH_DEAD);
    liveBytes = <u64>load<u32>(sh, SH_HEAP_TOP) - heapStartOf(old) - deadBytes;
  }
  // Churn: dead entries took at least half of the growth slack.
  const churn = deadBytes * 2 * HEAP_SLACK_DEN >= liveBytes * (HEAP_SLACK_NUM - HEAP_SLACK_DEN) && deadBytes != 0;
  const slack = churn
    ? (liveBytes + extraBytes) * HEAP_CHURN_SLACK_NUM / HEAP_CHURN_SLACK_DEN
    : (liveBytes + extraBytes) * HEAP_SLACK_NUM / HEAP_SLACK_DEN;
  const heap = max(<u64>MIN_HEAP_BYTES, max(slack, liveBytes + <u64>extraBytes * HEAP_ROOM_ENTRIES));
  for (;;) {
    if (groupCount > <u64>MAX_GROUPS) return ST_FULL;
    const n = <u32>groupCount;
    const total = align64(tableBytes(n) + heap);
    if (total > <u64>MAX_REGION_BYTES) return ST_FULL;
    // The size first: the region is recorded as pending as it is handed out.
    store<u32>(sh, <u32>total, SH_PENDING_BYTES);
    const region = allocRegion(hdr, id, total, sh + SH_PENDING);
    if (region == ALLOC_FULL) return ST_FULL;
    if (region == ALLOC_BUSY) return ST_BUSY;
    const t = tableWord(region, n);
    fillEmpty(region, n);
    let top = heapStartOf(t);
    let fits = true;
    if (keep && oldRegion != 0) {
      for (let r = firstFull(old); r != 0; r = nextFullAfter(old, r)) {
        const e = refEntry(r);
        const size = entryBytesAt(e);
        const h = hashKey(<usize>e + E_KEY, <u32>load<u16>(e, E_KLEN), seed);
        const ref = findFree(t, h);
        if (ref == 0) {
          fits = false;
          break;
        }
        if (size <= CELL_BYTES) {
          memory.copy(ref, e, size);
        } else {
          memory.copy(top, e, size);
          store<u64>(ref, outlineCell(top));
          top += size;
        }
        store<u8>(refCtrl(t, ref), tagOf(h));
      }
    }
    if (!fits) {
      // A probe ran too long: more groups (crowdedGroups).
      freeRegionWaiting(hdr, id, sh + SH_PENDING, <u32>total);
      groupCount = crowdedGroups(groupCount);
      continue;
    }
    // Switch: record the old region as retired, publish, make readers that
    // may still be in the old region retry, then free it.
    store<u32>(sh, load<u32>(sh, SH_REGION_BYTES), SH_RETIRED_BYTES);
    store<u32>(sh, oldRegion, SH_RETIRED);
    if (keep) {
      epochNext(hdr, sh);
      tablePublish(sh, region, n);
      seqRetire(sh);
    } else {
      // A clear changes every key's value: the write stripes with it, under
      // an odd seq, so that no reader pairs an old value with a new count.
      seqBegin(sh);
      stripesBumpAll(sh);
      epochNext(hdr, sh);
      tablePublish(sh, region, n);
      seqEnd(sh);
    }
    store<u32>(sh, region, SH_REGION);
    store<u32>(sh, <u32>total, SH_REGION_BYTES);
    store<u32>(sh, top, SH_HEAP_TOP);
    store<u32>(sh, region + <u32>total, SH_HEAP_END);
    store<u32>(sh, 0, SH_DEAD);
    const live = keep ? load<u32>(sh, SH_COUNT) : 0;
    store<u32>(sh, live, SH_USED);
    store<u32>(sh, live, SH_COUNT);
    store<u32>(sh, 0, SH_PENDING);
    freeRetired(hdr, sh, id);
    const scratch = scratchOfId(hdr, id);
    if (scratch != 0) count(scratch, CNT_RESIZES, 1);
    // (A clear, !keep, is checked by its caller once the cache state is
    // cleared too: until then a cache shard's counts are the old ones.)
    if (DEBUG && keep) assert(checkShardLocked(hdr, sh) == CHECK_OK, "shard unsound after a rebuild");
    return ST_OK;
  }
}

/** Empty the shard in its own region (clear when no new region can be had):
 *  every slot EMPTY, the heap empty, under an odd seq. */
export function emptyInPlace(hdr: usize, sh: usize): void {
  const t = tableLoad(sh);
  seqBegin(sh);
  stripesBumpAll(sh);
  epochNext(hdr, sh);
  fillEmpty(tableCtrl(t), tableGroupCount(t));
  seqEnd(sh);
  store<u32>(sh, heapStartOf(t), SH_HEAP_TOP);
  store<u32>(sh, 0, SH_COUNT);
  store<u32>(sh, 0, SH_USED);
  store<u32>(sh, 0, SH_DEAD);
}
