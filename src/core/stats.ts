/**
 * What `map.stats()` reports: the map's shape, read from shared memory
 * (each shard's table under its lock, briefly), and the counters every
 * instance keeps in its own scratch area (a line only it writes, so counting
 * costs other workers nothing), summed by the core.
 */
import {
  CNT_HITS, CNT_MISSES, CNT_STORES, CNT_DELETES, CNT_READ_RETRIES, CNT_LOCK_WAITS, CNT_LOCK_TIMEOUTS, CNT_RESIZES,
  CNT_RELEASED, CNT_EVICTIONS, CNT_EXPIRATIONS, CNT_FETCH_LOADS, CNT_FETCH_WAITS, CNT_FETCH_ERRORS, CNT_STALE_HITS, CNT_STALE_REFRESHES, SCRATCH_STATS, STAT_SLOTS, STAT_ENTRIES, STAT_TOMBSTONES, STAT_REGION_BYTES, STAT_HEAP_LIVE,
  STAT_HEAP_DEAD, STAT_MAX_PROBE,
  ST_OK,
} from '../../assembly/shared.js';
import { checkWaitOptions, type WaitOptions } from '../base/wait.js';
import type { Session } from './session.js';

/** One shard's figures (`stats({ perShard: true })`). */
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

/** What the map's instances counted (see `map.stats()`): for `counters`,
 *  every instance's since the map was created (detached and released ones
 *  included); for `instance`, this instance's since it attached. */
export interface Counters {
  /** Reads that found their key. */
  hits: number;
  /** Reads that did not. */
  misses: number;
  /** Writes that stored a value. */
  stores: number;
  /** Deletes that removed a key. */
  deletes: number;
  /** Optimistic reads retried because a writer was changing the shard. */
  readRetries: number;
  /** Calls that found a lock held and slept on it. */
  lockWaits: number;
  /** Waits that ended in a LockTimeoutError. */
  lockTimeouts: number;
  /** Table rebuilds (growth, shrinking, compaction into a new region). */
  resizes: number;
  /** Dead instances released (`release`, `watch`). */
  releasedOwners: number;
  /** Entries evicted to stay within maxEntries / maxBytes. */
  evictions: number;
  /** Entries dropped because their ttl passed. */
  expirations: number;
  /** fetch() calls that ran their loader. */
  fetchLoads: number;
  /** fetch() calls that waited for another caller's loader. */
  fetchWaits: number;
  /** Loaders that failed (rejected, threw or timed out). */
  fetchErrors: number;
  /** fetch() calls that returned a stale value: within
   *  staleWhileRevalidate, or within staleIfError after the load failed. */
  staleHits: number;
  /** Background refreshes (staleWhileRevalidate) run. */
  staleRefreshes: number;
}

/** Each counter's index in the core (CNT_*). */
export const COUNTER_INDEX: Record<keyof Counters, number> = {
  hits: CNT_HITS, misses: CNT_MISSES, stores: CNT_STORES, deletes: CNT_DELETES, readRetries: CNT_READ_RETRIES,
  lockWaits: CNT_LOCK_WAITS, lockTimeouts: CNT_LOCK_TIMEOUTS, resizes: CNT_RESIZES, releasedOwners: CNT_RELEASED,
  evictions: CNT_EVICTIONS, expirations: CNT_EXPIRATIONS, fetchLoads: CNT_FETCH_LOADS, fetchWaits: CNT_FETCH_WAITS,
  fetchErrors: CNT_FETCH_ERRORS, staleHits: CNT_STALE_HITS, staleRefreshes: CNT_STALE_REFRESHES,
};

/** Counters read through `at(index)`. */
export function readCounters(at: (i: number) => number): Counters {
  const out = {} as Counters;
  for (const [name, i] of Object.entries(COUNTER_INDEX)) out[name as keyof Counters] = at(i);
  return out;
}

/** The result of `map.stats()`. */
export interface MapStats {
  /** Live entries in the whole map. */
  entries: number;
  shards: number;
  /** Instances attached now (each worker's, the creator's). */
  attached: number;
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
  /** Every instance's counters, summed. */
  counters: Counters;
  /** This instance's counters. */
  instance: Counters;
  /** Cache maps: the bounds and default ttl (Infinity: none) and the key +
   *  value bytes of live entries (what maxBytes bounds); null for a plain
   *  map. */
  cache: { maxEntries: number; maxBytes: number; ttl: number; bytes: number } | null;
  /** Per shard, when asked for. */
  perShard?: ShardStats[];
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
  shards: ShardStats[],
  head: Pick<MapStats, 'entries' | 'attached' | 'memoryBytes' | 'usedBytes' | 'faults' | 'counters' | 'instance' | 'cache'>,
  perShard: boolean,
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
    ...(perShard ? { perShard: shards } : {}),
  };
}

/** The figures of the map through session `s` (see `ShardedMap.stats`):
 *  each shard's table read under its lock, briefly. */
export function mapStats(s: Session, options: ({ perShard?: boolean } & WaitOptions) | undefined): MapStats {
  if (options !== undefined) checkWaitOptions(options);
  const shards: ShardStats[] = [];
  const x = s.core;
  const n = x.shardCount();
  for (let i = 0; i < n; i++) {
    s.lockShard(i, options);
    try {
      const r = x.shardStats(s.token, i);
      if (r !== ST_OK) throw s.refused('shardStats', r);
      shards.push(readShardStats(s.i32, s.scratch));
    } finally {
      x.unlockShard(s.token, i);
    }
  }
  const head = {
    entries: x.size(), attached: x.attachedCount(), memoryBytes: x.committedBytes(), usedBytes: x.usedBytes(),
    faults: x.faults(), counters: readCounters((i) => x.counter(i)), instance: readCounters((i) => s.f64[s.cnt + i]!),
    cache: s.cacheFlags < 0 ? null : {
      maxEntries: x.cacheMaxEntries() || Infinity, maxBytes: x.cacheMaxBytes() || Infinity, ttl: s.ttl || Infinity,
      bytes: x.cacheBytes(),
    },
  };
  return sumStats(shards, head, options?.perShard === true);
}
