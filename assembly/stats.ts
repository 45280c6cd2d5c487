// What a shard holds, read under its lock: its statistics (map.stats())
// and its entries one by one (iteration); and the map-wide byte total of
// a cache map, racy.
//
// Contract: shardStats and nextEntry run with the shard lock held by the
// caller (the exports check it), so the table is sound and quiet; they
// write only the caller's scratch area. liveBytesTotal reads each shard's
// count without its lock: a snapshot, exact when no write is in flight.

import {
  HDR_SEED, HDR_AUX_OFF, SH_COUNT, SH_HEAP_TOP, SH_DEAD, SH_REGION_BYTES, SH_LIVE_BYTES, GROUP_SLOTS,
  E_KLEN, E_KEY, MAX_PROBE_GROUPS, firstGroup, nextGroup, slotGroup, shardAt, shardCountOf,
} from "./layout";
import {
  ST_OK, ST_NOT_FOUND, SCRATCH_KEY, SCRATCH_KLEN, SCRATCH_WORD, SCRATCH_EXPIRY, SCRATCH_STATS, STAT_SLOTS,
  STAT_ENTRIES, STAT_TOMBSTONES, STAT_REGION_BYTES, STAT_HEAP_LIVE, STAT_HEAP_DEAD, STAT_MAX_PROBE,
} from "./shared";
import { CTRL_DELETED, countByte } from "./ctrl";
import { hashKey } from "./hash";
import { tableLoad } from "./sync";
import { tableCtrl, tableGroupCount } from "./words";
import { heapStartOf, refEntry, firstFull, nextFullAfter, fullFrom, slotNumber, copyOut } from "./table";

/** Write shard `sh`'s statistics (STAT_*) to the scratch at SCRATCH_STATS:
 *  slots, entries, tombstones, region bytes, live and dead heap bytes, and
 *  the longest probe (in groups) any of its keys needs. ST_OK. */
export function shardStats(hdr: usize, sh: usize, scratch: usize): i32 {
  const t = tableLoad(sh);
  const n = tableGroupCount(t);
  const seed = load<u64>(hdr, HDR_SEED);
  let worst: u32 = 0;
  for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r)) {
    const e = refEntry(r);
    let at = firstGroup(hashKey(<usize>e + E_KEY, <u32>load<u16>(e, E_KLEN), seed), n);
    const g = slotGroup(slotNumber(t, r));
    let p: u32 = 1;
    while (at != g && p <= MAX_PROBE_GROUPS) {
      at = nextGroup(at, p, n);
      p++;
    }
    if (p > worst) worst = p;
  }
  const top = load<u32>(sh, SH_HEAP_TOP);
  const dead = load<u32>(sh, SH_DEAD);
  const out = scratch + SCRATCH_STATS;
  store<u32>(out + STAT_SLOTS, n * GROUP_SLOTS);
  store<u32>(out + STAT_ENTRIES, load<u32>(sh, SH_COUNT));
  store<u32>(out + STAT_TOMBSTONES, countByte(tableCtrl(t), n, CTRL_DELETED));
  store<u32>(out + STAT_REGION_BYTES, load<u32>(sh, SH_REGION_BYTES));
  store<u32>(out + STAT_HEAP_LIVE, top - heapStartOf(t) - dead);
  store<u32>(out + STAT_HEAP_DEAD, dead);
  store<u32>(out + STAT_MAX_PROBE, worst);
  return ST_OK;
}

/** Copy the first entry of shard `sh` at or after slot number `cursor`:
 *  key to the scratch's key area, value to its aux area, key length and
 *  value word to scratch words SCRATCH_KLEN and SCRATCH_WORD (a cache
 *  entry's expiry to SCRATCH_EXPIRY). Returns the next cursor, or
 *  ST_NOT_FOUND past the last entry. */
export function nextEntry(hdr: usize, sh: usize, scratch: usize, cursor: u32): i32 {
  const t = tableLoad(sh);
  const r = fullFrom(t, cursor);
  if (r == 0) return ST_NOT_FOUND;
  const e = refEntry(r);
  const klen = <u32>load<u16>(e, E_KLEN);
  memory.copy(scratch + SCRATCH_KEY, <usize>e + E_KEY, klen);
  store<u32>(scratch + SCRATCH_KLEN, klen);
  store<u32>(scratch + SCRATCH_WORD, copyOut(r, klen, scratch + load<u32>(hdr, HDR_AUX_OFF), scratch + SCRATCH_EXPIRY));
  return <i32>(slotNumber(t, r) + 1);
}

/** A cache map's key + value bytes of all live entries (what maxBytes
 *  bounds): the sum of racy per-shard counts. */
export function liveBytesTotal(hdr: usize): f64 {
  const n = shardCountOf(hdr);
  let total: f64 = 0;
  for (let i: u32 = 0; i < n; i++) total += <f64>load<u32>(shardAt(hdr, i), SH_LIVE_BYTES);
  return total;
}
