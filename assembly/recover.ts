// Recovery: repairing what a writer left when it stopped at an arbitrary
// instruction (a terminated worker, a trap, an abort). See "Crash
// consistency" in layout.ts for why the shard itself is always readable;
// what needs repair is the lock, an odd seq, counters, the heap top, a cell
// left pointing at the staging cell, a region being built or retired, and
// the allocator's counters.

import {
  SH_COUNT, SH_USED, SH_HEAP_TOP, SH_HEAP_END, SH_REGION, SH_REGION_BYTES, SH_DEAD,
  SH_PENDING, SH_PENDING_BYTES, SH_RETIRED, SH_RETIRED_BYTES,
  HDR_ALLOC_TOP, HDR_FREE_HEAD, HDR_FREE_BYTES,
  GROUP_SLOT_SHIFT, E_WORD, E_KLEN, VLEN_MASK, entryBytes,
} from "./layout";
import { CTRL_DELETED } from "./ctrl";
import { seqRead, seqBegin, seqEnd, seqRetire, tableLoad, tableGroups, tableCount } from "./sync";
import { freeRegion } from "./alloc";
import {
  nextFull, slotNumber, isOutline, refEntry, heapStartOf, stageOf, moveInline,
} from "./table";

/** Free a region, waiting for the allocator lock (its holders are alive:
 *  a dead holder is taken over first, see repairAllocator). */
function freeWaiting(hdr: usize, owner: u32, p: u32, bytes: u32): void {
  while (!freeRegion(hdr, owner, p, bytes)) {}
}

/** Repair a shard whose lock the caller now holds, after its previous
 *  holder stopped anywhere. Idempotent. */
export function repairShard(hdr: usize, sh: usize, owner: u32): void {
  if (seqRead(sh) & 1) seqEnd(sh);
  const t = tableLoad(sh);
  const groups = tableGroups(t);
  const n = tableCount(t);
  // A region being built: live if it was published (then the bookkeeping
  // after the publish is redone here), garbage if not.
  const pending = load<u32>(sh, SH_PENDING);
  if (pending != 0) {
    if (pending == groups) {
      store<u32>(sh, pending, SH_REGION);
      store<u32>(sh, load<u32>(sh, SH_PENDING_BYTES), SH_REGION_BYTES);
    } else {
      freeWaiting(hdr, owner, pending, load<u32>(sh, SH_PENDING_BYTES));
    }
    store<u32>(sh, 0, SH_PENDING);
  }
  // A retired region: free unless it is, after all, the live one (the
  // writer stopped between recording it and publishing the new table).
  const retired = load<u32>(sh, SH_RETIRED);
  if (retired != 0) {
    if (retired != groups) freeWaiting(hdr, owner, retired, load<u32>(sh, SH_RETIRED_BYTES));
    store<u32>(sh, 0, SH_RETIRED);
  }
  // Recount from the control bytes and entries, finishing on the way a
  // move into a cell that a stop left pointing at the staging cell.
  const stage = stageOf(t);
  const heapStart = heapStartOf(t);
  let count: u32 = 0;
  let used: u32 = 0;
  let top = heapStart;
  let live: u32 = 0;
  for (let g: u32 = 0; g < n; g++) {
    const ctrl = v128.load(groups + (g << GROUP_SLOT_SHIFT));
    used += <u32>popcnt(i8x16.bitmask(i8x16.eq(ctrl, i8x16.splat(<i8>CTRL_DELETED))));
  }
  seqBegin(sh);
  for (let r = nextFull(t, 0); r != 0; r = nextFull(t, slotNumber(t, r) + 1)) {
    count++;
    if (!isOutline(r)) continue;
    const e = refEntry(r);
    const size = entryBytes(<u32>load<u16>(e, E_KLEN), load<u32>(e, E_WORD) & VLEN_MASK);
    if (e == stage) {
      moveInline(r, stage, size);
      continue;
    }
    if (e + size > top) top = e + size;
    live += size;
  }
  seqEnd(sh);
  store<u32>(sh, count, SH_COUNT);
  store<u32>(sh, used + count, SH_USED);
  store<u32>(sh, top, SH_HEAP_TOP);
  store<u32>(sh, load<u32>(sh, SH_REGION) + load<u32>(sh, SH_REGION_BYTES), SH_HEAP_END);
  store<u32>(sh, top - heapStart - live, SH_DEAD);
  // Heap bytes above the new top may be reused now: readers still in them
  // must retry.
  seqRetire(sh);
}

/** Repair the allocator after its lock holder stopped (the caller now
 *  holds the lock): recount the free bytes, and cut the list where it is
 *  not increasing or leaves [base, top) (a stop can leak a block, never
 *  link a wrong one; this is a guard). */
export function repairAllocator(hdr: usize, base: u32): void {
  const top = load<u32>(hdr, HDR_ALLOC_TOP);
  let link: usize = hdr + HDR_FREE_HEAD;
  let cur = load<u32>(link);
  let prev: u32 = base;
  let free: u32 = 0;
  while (cur != 0) {
    const size = load<u32>(cur);
    if (cur < prev || cur >= top || size == 0 || <u64>cur + size > <u64>top) {
      store<u32>(link, 0);
      break;
    }
    free += size;
    prev = cur + size;
    link = cur + 4;
    cur = load<u32>(cur, 4);
  }
  store<u32>(hdr, free, HDR_FREE_BYTES);
}
