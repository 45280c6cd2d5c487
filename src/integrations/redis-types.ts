/**
 * The near cache's types: its options, handle, statistics and interface,
 * for one server and for a cluster (the fields a cluster adds), in one
 * place both forms import (redis.ts, redis-cluster.ts, redis-trackers.ts).
 */
import type { RedisClusterOptions } from '@redis/client';
import type { MapStats, ShardedMapHandle } from '../map/map.js';

/** Options of `createNearCache`. */
export interface NearCacheOptions extends ClusterOptionFields {
  /** Redis URL. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Key prefixes the L1 caches (tracked with BCAST). Keys under none of
   *  them are read from Redis every time. Required, non-empty. */
  prefixes: string[];
  /** Longest time an L1 copy lives, ms (never longer than the key's own
   *  Redis TTL). @default 60000 */
  ttl?: number;
  /** L1 bounds (see ShardedMap's cache options). @default maxEntries 100000 */
  maxEntries?: number;
  maxBytes?: number;
  /** Passed to ShardedMap.create for the L1. A key longer than the L1's
   *  `maxKeyBytes` (1 + its UTF-8 bytes) is read from Redis every time. */
  maxKeyBytes?: number;
  maxMemory?: number;
  maxValueBytes?: number;
  maxWorkers?: number;
  shards?: number;
  /** Milliseconds each Redis command may take before it fails with
   *  `ERR_SHARDEDMAP_REDIS` (also how long a caller waits for another's
   *  fill). @default 2000 */
  commandTimeout?: number;
  /** Milliseconds between PINGs on the tracking connection: a dead
   *  connection is noticed within about this (then the L1 is flushed and
   *  bypassed until it is back). @default 1000 */
  pingInterval?: number;
  /** Called in the creating thread after an invalidation pushed by Redis
   *  has dropped `key` from the L1 (null: the whole L1 was flushed). For
   *  logging and for measuring how stale the L1 can be. */
  onInvalidate?: (key: string | null) => void;
}

/** What `attachNearCache` needs: structured-cloneable (post it to workers). */
export interface NearCacheHandle extends ClusterHandleFields {
  readonly map: ShardedMapHandle;
  /** The shared coherence words (see STATE_*). */
  readonly state: SharedArrayBuffer;
  /** The random mark of this process's fill tickets. */
  readonly mark: Uint8Array;
  readonly url: string;
  readonly prefixes: readonly string[];
  readonly ttl: number;
  readonly commandTimeout: number;
  /** The L1's maxKeyBytes: longer keys are not cached. */
  readonly maxKeyBytes: number;
}

/** What one instance counted, plus the process-wide coherence counts. */
export interface NearCacheStats extends ClusterStatsFields {
  /** Reads answered by the L1. */
  l1Hits: number;
  /** Reads that went to Redis to fill the L1. */
  l1Misses: number;
  /** Reads that went to Redis without the L1 (not under a prefix, or
   *  tracking down). */
  bypasses: number;
  /** Fills installed / dropped because an invalidation overtook them. */
  fills: number;
  fillsDropped: number;
  /** Process-wide: keys invalidated by Redis pushes, whole-L1 flushes. */
  invalidations: number;
  flushes: number;
  /** Is the L1 in use (tracking armed)? */
  tracking: boolean;
  /** The L1 map's own statistics. */
  l1: MapStats;
}

export interface NearCache {
  /** Pass to workers for `attachNearCache`. */
  readonly handle: NearCacheHandle;
  /** The value of `key` (from the L1, else from Redis, filling the L1), or
   *  undefined if Redis has no such key. Values served by the L1 are as a
   *  ShardedMap load returns them (objects of plain data deeply frozen, shared). */
  get(key: string): Promise<unknown>;
  /** The L1's copy of `key` if it has one, synchronously, else undefined
   *  (no Redis call): `near.peek(k) ?? await near.get(k)` saves the
   *  promise on a hit. */
  peek(key: string): unknown;
  /** Write to Redis (with `ttl` ms, 0 or none: no expiry), then drop this
   *  process's L1 copy; every process's L1 drops it on the invalidation. */
  set(key: string, value: unknown, options?: { ttl?: number }): Promise<void>;
  /** Delete from Redis and from the L1. True if Redis had the key. */
  delete(key: string): Promise<boolean>;
  /** Is the L1 in use now (tracking armed and no doubt since)? */
  readonly tracking: boolean;
  /** Is this instance's data connection up? (While it reconnects, calls
   *  wait for it up to commandTimeout.) */
  readonly connected: boolean;
  stats(): NearCacheStats;
  /** Close this instance's connections (and, for the creator, the tracking
   *  connection: the L1 is off from then on for every instance). */
  close(): Promise<void>;
}

/** node-redis `createCluster` options (rootNodes, defaults for every node
 *  connection: credentials, TLS...). `commandOptions` and the RESP version
 *  are the near cache's own. */
export type NearCacheClusterOptions = Omit<RedisClusterOptions, 'commandOptions' | 'RESP'>;

/** The cluster fields of NearCacheOptions. */
export interface ClusterOptionFields {
  /** A Redis Cluster instead of one server (`url` is then not used):
   *  node-redis `createCluster` options, at least `rootNodes: [{ url }]`. */
  cluster?: NearCacheClusterOptions;
  /** Cluster only: milliseconds between two `CLUSTER SLOTS` checks of the
   *  topology (a failover or a slot move is seen within about this, sooner
   *  when a connection drops or a command fails). @default 1000 */
  topologyInterval?: number;
}

/** The cluster fields of a handle: the cluster options workers can use
 *  (what structured clone keeps of them: no functions). */
export interface ClusterHandleFields {
  readonly cluster?: NearCacheClusterOptions;
  /** One Int32 word, bumped (and notified) by an instance whose command
   *  failed: the creator looks at the topology again. */
  readonly topology?: SharedArrayBuffer;
}

/** What the tracker of one master is doing. */
export type TrackerState = 'armed' | 're-arming' | 'lost';

export interface NodeStats {
  /** host:port */
  address: string;
  /** Its slot ranges as `CLUSTER SLOTS` last said ("0-5460 ..."). */
  slots: string;
  state: TrackerState;
  /** Invalidations (keys) this node pushed. */
  invalidations: number;
  /** How many times its tracker was armed (first time included). */
  arms: number;
  /** Whole-L1 flushes this node caused: its tracker lost, it became a
   *  master, its slots changed, or it pushed a flush (FLUSHALL). */
  flushes: number;
}

/** The cluster fields of NearCacheStats (in the creating instance only). */
export interface ClusterStatsFields {
  /** One entry per master of the current topology. */
  nodes?: NodeStats[];
  /** Topology changes seen (slot map differs from the one before). */
  topologyChanges?: number;
}
