// A Map private to each worker: the same-thread upper bound. NOT shared:
// a worker never sees another worker's writes.
import v8 from 'node:v8';

export const kind = 'private';

export async function setup(cell, { keys, value }) {
  const before = v8.getHeapStatistics().used_heap_size;
  const probe = new Map();
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
  const map = new Map();
  for (let i = 0; i < keys.length; i++) map.set(keys[i], value(i));
  return {
    load: numeric ? (k) => map.get(k) ?? NaN : (k) => map.get(k),
    store: (k, v) => void map.set(k, v),
    del: (k) => map.delete(k),
    close: () => {},
  };
}
