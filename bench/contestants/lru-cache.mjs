// npm lru-cache, one private to each worker (NOT shared): the JS anchor of
// the cache cells, sized like the shardedmap cache contestant (twice the
// keys: nothing is evicted).
import { LRUCache } from 'lru-cache';
import { privateContestant } from './private.mjs';

export const { kind, setup, open } = privateContestant((keys) => new LRUCache({ max: 2 * keys.length }));
