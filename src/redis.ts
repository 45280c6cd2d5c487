/** The package entry `shardedmap/redis`: the near cache in front of Redis
 *  (integrations/redis.ts). */
export * from './integrations/redis.js';
