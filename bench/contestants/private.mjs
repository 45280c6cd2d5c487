// What the private contestants share: each worker builds its own store of
// the cell's keys (NOT shared: a worker never sees another's writes), and
// the main thread measures one such store's heap for bytes/entry. Not a
// contestant itself (CONTESTANTS names the modules that use it).
import v8 from 'node:v8';

/** A contestant module's exports for a store made by `make(keys)`, with
 *  `get`, `set` and `delete` (Map's names). */
export function privateContestant(make) {
  return {
    kind: 'private',
    async setup(cell, { keys, value }) {
      const before = v8.getHeapStatistics().used_heap_size;
      const probe = make(keys);
      for (let i = 0; i < keys.length; i++) probe.set(keys[i], value(i));
      const bytes = v8.getHeapStatistics().used_heap_size - before;
      return {
        bytesPerEntry: bytes / keys.length,
        bytesKind: 'heap (approx.)',
        worker: () => ({ data: {} }),
        teardown: () => probe.clear(),
      };
    },
    async open(data, numeric, { keys, value }) {
      const store = make(keys);
      for (let i = 0; i < keys.length; i++) store.set(keys[i], value(i));
      return {
        load: numeric ? (k) => store.get(k) ?? NaN : (k) => store.get(k),
        store: (k, v) => void store.set(k, v),
        del: (k) => store.delete(k),
        close: () => {},
      };
    },
  };
}
