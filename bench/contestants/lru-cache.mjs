// npm lru-cache, one private to each worker (NOT shared): the JS anchor of
// the cache cells, sized like the shardedmap cache contestant (twice the
// keys: nothing is evicted).
import v8 from 'node:v8';
import { LRUCache } from 'lru-cache';

export const kind = 'private';

export async function setup(cell, { keys, value }) {
  const before = v8.getHeapStatistics().used_heap_size;
  const probe = new LRUCache({ max: 2 * keys.length });
  for (let i = 0; i < keys.length; i++) probe.set(keys[i], value(i));
  const bytes = v8.getHeapStatistics().used_heap_size - before;
  return {
    bytesPerEntry: bytes / keys.length,
    bytesKind: 'heap (approx.)',
    worker: () => ({ data: {} }),
    teardown: () => probe.clear(),
  };
}

export async function open(data, numeric, { keys, value }) {
  const cache = new LRUCache({ max: 2 * keys.length });
  for (let i = 0; i < keys.length; i++) cache.set(keys[i], value(i));
  return {
    load: numeric ? (k) => cache.get(k) ?? NaN : (k) => cache.get(k),
    store: (k, v) => void cache.set(k, v),
    del: (k) => cache.delete(k),
    close: () => {},
  };
}
