// shardedmap as a policy of the hit-ratio harness (see policies.mjs for the
// contract): a cache map created with maxEntries = capacity, its default
// shard count (at least 64 entries per shard, so small caches get few
// shards), read with get() and filled with set() on a miss. What it
// measures is the real thing: per-shard S3-FIFO over the core's queues,
// sketch and ghost tables, with per-shard budgets.
import { ShardedMap } from 'shardedmap';

/** @param {{ shards?: number, name?: string }} [o] */
export function shardedmapPolicy(o = {}) {
  return {
    name: o.name ?? (o.shards ? `shardedmap (${o.shards} shards)` : 'shardedmap'),
    async create(capacity) {
      const shards = o.shards === undefined ? undefined : Math.min(o.shards, 2 ** Math.floor(Math.log2(capacity)));
      const map = await ShardedMap.create({ maxEntries: capacity, maxMemory: 64 << 20, maxWorkers: 1, shards });
      return {
        access(key) {
          if (map.get(key) !== undefined) return true;
          map.set(key, 1);
          return false;
        },
        close() {
          map.close();
        },
      };
    },
  };
}
