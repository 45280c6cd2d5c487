// Per-instance counters (shared.ts: CNT_*): each instance counts in its own
// scratch area, which only it writes, so counting costs other workers
// nothing; the map's totals are the header's retired counts plus every
// attached instance's own.
//
// Contract: an instance's counters are written by that instance alone
// (JS and core) until it detaches or is released; then its counts move to
// the header with one exchange each (the count is taken out of the scratch
// area, then added to the header: a stop in between loses those counts,
// never counts them twice). Reads of another instance's counters are racy
// snapshots, exact when nothing runs.

import { HDR_COUNTERS, HDR_MAX_OWNERS, OWN_STATE, OWN_SCRATCH, ownerSlot } from "./layout";
import { SCRATCH_COUNTERS, COUNTERS } from "./shared";
import { stateAlive } from "./words";

/** Address of counter `i` in the scratch area at `scratch`. */
// @ts-ignore: decorator
@inline function counterAt(scratch: usize, i: u32): usize {
  return scratch + SCRATCH_COUNTERS + (<usize>i << 3);
}

/** Add `n` to this instance's counter `i` (its own scratch area). */
// @ts-ignore: decorator
@inline export function count(scratch: usize, i: u32, n: f64): void {
  const p = counterAt(scratch, i);
  store<f64>(p, load<f64>(p) + n);
}

/** Add `x` to the f64 at `p`, atomically (a compare-exchange loop on its
 *  bits: Wasm has no atomic float add). */
function atomicAddF64(p: usize, x: f64): void {
  for (;;) {
    const old = atomic.load<u64>(p);
    if (atomic.cmpxchg<u64>(p, old, reinterpret<u64>(reinterpret<f64>(old) + x)) == old) return;
  }
}

/** Move an instance's counts (scratch area at `scratch`) to the header, as
 *  it detaches or is released. */
export function retireCounters(hdr: usize, scratch: usize): void {
  if (scratch == 0) return;
  for (let i: u32 = 0; i < <u32>COUNTERS; i++) {
    const v = reinterpret<f64>(atomic.xchg<u64>(counterAt(scratch, i), 0));
    if (v != 0) atomicAddF64(hdr + HDR_COUNTERS + (<usize>i << 3), v);
  }
}

/** The map's total of counter `i`: retired counts plus every attached
 *  instance's. */
export function counterTotal(hdr: usize, i: u32): f64 {
  let total = reinterpret<f64>(atomic.load<u64>(hdr + HDR_COUNTERS + (<usize>i << 3)));
  const n = load<u32>(hdr, HDR_MAX_OWNERS);
  for (let id: u32 = 1; id <= n; id++) {
    const slot = ownerSlot(hdr, id);
    if (!stateAlive(atomic.load<u32>(slot, OWN_STATE))) continue;
    const scratch = <usize>atomic.load<u32>(slot, OWN_SCRATCH);
    if (scratch != 0) total += reinterpret<f64>(atomic.load<u64>(counterAt(scratch, i)));
  }
  return total;
}

/** This owner id's scratch area, 0 if none (init's pseudo-owner, a slot
 *  being freed): for counting in code that has only the owner id. */
export function scratchOfId(hdr: usize, id: u32): usize {
  return id - 1 < load<u32>(hdr, HDR_MAX_OWNERS) ? <usize>atomic.load<u32>(ownerSlot(hdr, id), OWN_SCRATCH) : 0;
}
