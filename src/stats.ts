/**
 * What `map.stats()` reports: the map's shape, read from shared memory
 * (each shard's table under its lock, briefly), plus this instance's own
 * counters (kept in the instance, never in shared memory, so counting costs
 * other workers nothing).
 */
import {
  SCRATCH_STATS, STAT_SLOTS, STAT_ENTRIES, STAT_TOMBSTONES, STAT_REGION_BYTES, STAT_HEAP_LIVE,
  STAT_HEAP_DEAD, STAT_MAX_PROBE,
} from '../assembly/shared';

/** One shard's figures (`stats({ shards: true })`). */
export interface ShardStats {
  /** Slots in its table (16 per group). */
  slots: number;
  entries: number;
  /** Deleted slots that probes still go past (until the next rebuild). */
  tombstones: number;
  /** Bytes of its region: table, staging cell and heap. */
  regionBytes: number;
  /** Heap bytes of live out-of-line entries (entries too long for a cell). */
  heapLiveBytes: number;
  /** Heap bytes of dead entries not yet compacted. */
  heapDeadBytes: number;
  /** Longest probe of any of its keys, in groups (1 = in its first group). */
  maxProbe: number;
}

/** Counters of one instance (since it attached): summed over instances by
 *  whoever collects them (the Prometheus collector does, per worker). */
export interface InstanceCounters {
  /** Reads that fell back to the shard lock and found it held. */
  readWaits: number;
  /** Writes (and other locking calls) that found a lock held and waited. */
  lockWaits: number;
  /** Waits that ended in a LockTimeoutError. */
  lockTimeouts: number;
  /** Owners this instance released (`release`, `watch`). */
  releasedOwners: number;
  /** Internal errors this instance hit (each already repaired). */
  faults: number;
}

/** The result of `map.stats()`. */
export interface MapStats {
  /** Live entries in the whole map. */
  entries: number;
  shards: number;
  /** Bytes of shared memory committed (grows, never shrinks). */
  memoryBytes: number;
  /** Bytes of it handed out (the rest is free for reuse). */
  usedBytes: number;
  /** Bytes of all shard regions: what the entries cost. */
  tableBytes: number;
  /** Slots of all tables. */
  slots: number;
  /** entries / slots (a table is rebuilt past 7/8, with tombstones). */
  loadFactor: number;
  tombstones: number;
  heapLiveBytes: number;
  heapDeadBytes: number;
  /** Longest probe in any shard, in groups. */
  maxProbe: number;
  /** Internal errors any instance hit since the map was created. */
  faults: number;
  /** This instance's counters. */
  instance: InstanceCounters;
  /** Per shard, when asked for. */
  perShard?: ShardStats[];
}

/** A fresh set of instance counters. */
export function newCounters(): InstanceCounters {
  return { readWaits: 0, lockWaits: 0, lockTimeouts: 0, releasedOwners: 0, faults: 0 };
}

/** One shard's figures, from the STAT_* words the core wrote at the
 *  scratch area `scratch` (view `i32`). */
export function readShardStats(i32: Int32Array, scratch: number): ShardStats {
  const w = (k: number) => i32[(scratch + SCRATCH_STATS + k) >>> 2]! >>> 0;
  return {
    slots: w(STAT_SLOTS),
    entries: w(STAT_ENTRIES),
    tombstones: w(STAT_TOMBSTONES),
    regionBytes: w(STAT_REGION_BYTES),
    heapLiveBytes: w(STAT_HEAP_LIVE),
    heapDeadBytes: w(STAT_HEAP_DEAD),
    maxProbe: w(STAT_MAX_PROBE),
  };
}

/** Sum shards' figures into a MapStats (the header figures given). */
export function sumStats(
  shards: ShardStats[], head: Pick<MapStats, 'entries' | 'memoryBytes' | 'usedBytes' | 'faults'>,
  instance: InstanceCounters, perShard: boolean,
): MapStats {
  let slots = 0;
  let tombstones = 0;
  let tableBytes = 0;
  let live = 0;
  let dead = 0;
  let maxProbe = 0;
  for (const s of shards) {
    slots += s.slots;
    tombstones += s.tombstones;
    tableBytes += s.regionBytes;
    live += s.heapLiveBytes;
    dead += s.heapDeadBytes;
    maxProbe = Math.max(maxProbe, s.maxProbe);
  }
  return {
    ...head,
    shards: shards.length,
    tableBytes,
    slots,
    loadFactor: slots ? head.entries / slots : 0,
    tombstones,
    heapLiveBytes: live,
    heapDeadBytes: dead,
    maxProbe,
    instance: { ...instance },
    ...(perShard ? { perShard: shards } : {}),
  };
}
