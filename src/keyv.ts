/** The package entry `shardedmap/keyv`: a shardedmap cache as a Keyv
 *  storage adapter (integrations/keyv.ts). */
export * from './integrations/keyv.js';
