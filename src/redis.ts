/** The package entry `shardedmap/redis`: the near cache in front of Redis
 *  or a Redis Cluster (integrations/redis.ts). */
export * from './integrations/redis.js';
export type {
  NearCacheOptions, NearCacheHandle, NearCacheStats, NearCache, NearCacheClusterOptions, NodeStats, TrackerState,
} from './integrations/redis-types.js';
