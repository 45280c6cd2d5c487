// shardedmap itself. `options` are passed to ShardedMap.create (the harness
// uses the defaults, and { shards: 1 } for the "one global lock" contestant);
// `plain` (the "plain API" contestant) uses load/store for numbers too,
// instead of loadNumber/storeNumber; `cache` (the cache contestants) makes
// it a cache with room for twice the cell's keys (so nothing is evicted:
// what is measured is the cost of cache mode) plus the given options.
import { ShardedMap } from 'shardedmap';

export const kind = 'shared';

/** Main thread: create the map, preload it, say what each worker gets. */
export async function setup(cell, { keys, value }, { plain, cache, ...options } = {}) {
  const map = await ShardedMap.create(cache ? { ...options, maxEntries: 2 * keys.length, ...cache } : options);
  const store = typeof value(0) === 'number' ? (k, v) => map.storeNumber(k, v) : (k, v) => map.store(k, v);
  for (let i = 0; i < keys.length; i++) store(keys[i], value(i));
  return {
    // Shard tables and heaps only: the header and scratch areas do not
    // grow with the entries.
    bytesPerEntry: map.stats().tableBytes / keys.length,
    bytesKind: 'shared',
    worker: () => ({ data: { handle: map.handle, plain: plain === true } }),
    teardown: () => map.close(),
  };
}

/** Worker: attach and return the three operations, specialised by value
 *  kind, and this instance's lock waits (read outside the timed windows:
 *  stats() visits every shard). No ordered scan: it is a hash map. */
export async function open(data, numeric) {
  const map = await ShardedMap.attach(data.handle);
  const counters = () => ({ lockWaits: map.stats().instance.lockWaits });
  return numeric && !data.plain
    ? {
        load: (k) => map.loadNumber(k, NaN),
        store: (k, v) => map.storeNumber(k, v),
        del: (k) => map.delete(k),
        counters,
        close: () => map.close(),
      }
    : {
        load: (k) => map.load(k),
        store: (k, v) => map.store(k, v),
        del: (k) => map.delete(k),
        counters,
        close: () => map.close(),
      };
}
