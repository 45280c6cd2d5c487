// Churns a shared cache for `ms`: gets, sets (objects and strings that name
// their key), deletes and ttl'd sets on random keys; counts every value read
// that does not belong to its key. With `lie`, expects the next key's
// values instead (the detector's control).
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, stop, seed, keys, ms, lie = false } = workerData;
const map = await ShardedMap.attach(handle);
let x = seed * 0x9e3779b1;
const rnd = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) / 2 ** 32;
};
let reads = 0;
let hits = 0;
let wrong = 0;
let error;
const owns = (k, v) => (typeof v === 'string' ? v.startsWith(`${k}:`) : v?.k === k);
try {
  const end = Date.now() + ms;
  for (let i = 0; Atomics.load(stop, 0) === 0; i++) {
    if ((i & 1023) === 0 && Date.now() > end) break;
    const k = Math.floor(rnd() * keys);
    const u = rnd();
    if (u < 0.6) {
      const v = map.get(`key:${k}`);
      reads++;
      if (v !== undefined) {
        hits++;
        if (!owns(lie ? k + 1 : k, v)) wrong++;
      }
    } else if (u < 0.75) {
      map.set(`key:${k}`, { k, i, pad: 'p'.repeat(i % 40) });
    } else if (u < 0.9) {
      map.store(`key:${k}`, `${k}:${'s'.repeat(i % 70)}`, { ttl: 50 });
    } else {
      map.delete(`key:${k}`);
    }
  }
} catch (e) {
  error = `${e.code} ${e.message}`;
}
map.close();
parentPort.postMessage({ reads, hits, wrong, error });
