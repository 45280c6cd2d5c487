// Laying out a new map in a fresh memory: the memory map of the Overview
// (overview.ts: "Memory map"), computed once from the map's options, the
// header written, each shard's first region built, and the map published
// by its magic word last.
//
// Contract: runs once per memory, before any other instance can attach
// (attach refuses a memory without the magic word), so nothing here is
// shared yet and nothing is locked; the caller (the init export) checked
// the options.

import {
  MAGIC, HDR_MAGIC, HDR_VERSION, HDR_SHARD_BITS, HDR_MAX_OWNERS, HDR_SEED, HDR_MAP_ID, HDR_MAX_KEY,
  HDR_MAX_VALUE, HDR_SCRATCH_BYTES, HDR_VALUE_OFF, HDR_AUX_OFF, HDR_MIN_GROUPS, HDR_OWNERS, HDR_SHARDS,
  HDR_ALLOC_TOP, HDR_ALLOC_BASE, HDR_MEM_BYTES, HDR_MAX_PAGES, HDR_DEBUG_ENTRIES, HDR_DEBUG_RINGS, HDR_CACHE,
  HDR_TTL, HDR_MAX_ENTRIES, HDR_MAX_BYTES, HDR_FLIGHTS, HDR_BYTES, OWN_BYTES, SH_BYTES, GROUP_SLOTS,
  LOAD_NUM_MIN, LOAD_DEN, align8, align64, shardAt,
} from "./layout";
import { LAYOUT_VERSION, PAGE_BYTES, ST_OK, ST_FULL, SCRATCH_KEY, CACHE_ON } from "./shared";
import { MAX_PAGES } from "./alloc";
import { ringBytes } from "./ring";
import { flightTableBytes } from "./flights";
import { cacheAreaBytes, initCacheShard } from "./policy";
import { rebuild } from "./resize";

/** A guess of the average heap bytes per entry, to size the heaps for
 *  initialCapacity: entries that fit a cell take none, longer ones 40 or
 *  more; 16 assumes most are short (a heap that is too small grows). */
const INITIAL_ENTRY_BYTES: u32 = 16;
/** Owner id used while `initMap` builds the shards (no owner is attached
 *  yet). */
const INIT_OWNER: u32 = 1;

/** Lay out a new map at header `hdr` (arguments as the init export's,
 *  checked), growing the memory to hold its fixed part. A cache map
 *  (cacheFlags CACHE_ON) has per-shard shares of `maxEntries` and
 *  `maxBytes` (0 = no bound) and, with a bound, its shards' queues, ghost
 *  tables and sketches laid out after the debug rings, then its flight
 *  table. ST_OK or ST_FULL (maxPages cannot hold the fixed layout and the
 *  shards' first tables). */
export function initMap(
  hdr: usize, shardBits: u32, maxOwners: u32, seed: u64, id: u64, maxKey: u32, maxValue: u32, perShard: u32,
  maxPages: u32, debugEntries: u32, cacheFlags: u32, maxEntries: u32, maxBytes: u32, ttl: f64,
): i32 {
  const cache = (cacheFlags & CACHE_ON) != 0;
  const shardCount = <u32>1 << shardBits;
  const owners = align64(<u64>hdr + HDR_BYTES);
  const shards = align64(owners + <u64>maxOwners * OWN_BYTES);
  const rings = align64(shards + <u64>shardCount * SH_BYTES);
  const areas = align64(rings + <u64>shardCount * ringBytes(debugEntries));
  let base = areas;
  if (cache) for (let i: u32 = 0; i < shardCount; i++) base += cacheAreaBytes(maxEntries, maxBytes, shardCount, i);
  const flights = base;
  if (cache) base = align64(base + flightTableBytes());
  if (base > <u64>MAX_PAGES * PAGE_BYTES) return ST_FULL;
  // Grow the memory to hold the fixed part; the allocator grows it further.
  const havePages = <u32>memory.size();
  const needPages = <u32>((base + PAGE_BYTES - 1) / PAGE_BYTES);
  if (needPages > maxPages) return ST_FULL;
  if (needPages > havePages && memory.grow(<i32>(needPages - havePages)) < 0) return ST_FULL;
  store<u32>(hdr, LAYOUT_VERSION, HDR_VERSION);
  store<u32>(hdr, shardBits, HDR_SHARD_BITS);
  store<u32>(hdr, maxOwners, HDR_MAX_OWNERS);
  store<u64>(hdr, seed, HDR_SEED);
  store<u64>(hdr, id, HDR_MAP_ID);
  store<u32>(hdr, maxKey, HDR_MAX_KEY);
  store<u32>(hdr, maxValue, HDR_MAX_VALUE);
  const valueOff = SCRATCH_KEY + align8(maxKey);
  const auxOff = valueOff + align8(maxValue);
  store<u32>(hdr, valueOff, HDR_VALUE_OFF);
  store<u32>(hdr, auxOff, HDR_AUX_OFF);
  store<u32>(hdr, auxOff + align8(maxValue), HDR_SCRATCH_BYTES);
  store<u32>(hdr, <u32>owners, HDR_OWNERS);
  store<u32>(hdr, <u32>shards, HDR_SHARDS);
  store<u32>(hdr, <u32>base, HDR_ALLOC_TOP);
  store<u32>(hdr, <u32>base, HDR_ALLOC_BASE);
  store<u32>(hdr, <u32>memory.size() * PAGE_BYTES, HDR_MEM_BYTES);
  store<u32>(hdr, maxPages, HDR_MAX_PAGES);
  store<u32>(hdr, debugEntries, HDR_DEBUG_ENTRIES);
  store<u32>(hdr, <u32>rings, HDR_DEBUG_RINGS);
  store<u32>(hdr, cacheFlags, HDR_CACHE);
  if (cache) {
    store<f64>(hdr, ttl, HDR_TTL);
    store<u32>(hdr, maxEntries, HDR_MAX_ENTRIES);
    store<u32>(hdr, maxBytes, HDR_MAX_BYTES);
    store<u32>(hdr, <u32>flights, HDR_FLIGHTS);
    // The fresh memory is zeroed: empty rings, ghost tables and sketches.
    let area = areas;
    for (let i: u32 = 0; i < shardCount; i++) {
      initCacheShard(shardAt(hdr, i), <usize>area, maxEntries, maxBytes, shardCount, i);
      area += cacheAreaBytes(maxEntries, maxBytes, shardCount, i);
    }
  }
  // Groups for perShard entries at the max load: no resize until then.
  const perGroup = <u64>GROUP_SLOTS * LOAD_NUM_MIN;
  const minGroups = <u32>max(<u64>1, (<u64>perShard * LOAD_DEN + perGroup - 1) / perGroup);
  store<u32>(hdr, minGroups, HDR_MIN_GROUPS);
  const heap = <u32>min(<u64>perShard * INITIAL_ENTRY_BYTES, <u64>0x7fffffff);
  for (let i: u32 = 0; i < shardCount; i++) {
    const st = rebuild(hdr, shardAt(hdr, i), INIT_OWNER, 0, heap, minGroups, false);
    if (st != ST_OK) return st;
  }
  atomic.store<u32>(hdr, MAGIC, HDR_MAGIC); // publishes the map
  return ST_OK;
}
