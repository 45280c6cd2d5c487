// Reads key 'T' until the stop flag rises; a value whose letters are not all
// the same was torn (read while being written), and so is one, in mode
// 'inline', whose letter does not match its length. Reads alternate between
// an instance without a decoded-value cache (every read copies and decodes
// the bytes: what the controls' tears show up in) and one with it (which
// must never hand out a torn value either), and between single loads and
// batch reads (getMany).
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, stop, mode, ready } = workerData;
const fresh = await ShardedMap.attach(handle, { decodedCache: 0 });
const cached = await ShardedMap.attach(handle);
// Reading from now on: the writer's window starts.
Atomics.store(ready, 0, 1);
Atomics.notify(ready, 0);
let reads = 0;
let torn = 0;
let missing = 0;
while (Atomics.load(stop, 0) === 0) {
  // Single loads and batch reads, each with and without the cache.
  const map = reads & 1 ? cached : fresh;
  let v;
  try {
    v = reads & 2 ? map.getMany(['T'])[0] : map.load('T');
  } catch {
    torn++; // bytes that do not decode
    reads++;
    continue;
  }
  reads++;
  if (mode === 'objects') {
    // Every field of one object is made of the same letter.
    const values = v !== null && typeof v === 'object' ? Object.values(v) : [];
    if (values.length === 0) missing++;
    else if (values.some((x) => typeof x !== 'string' || x.length === 0 || [...x].some((ch) => ch !== values[0][0]))) torn++;
    continue;
  }
  if (typeof v !== 'string') {
    missing++; // the key is always there: a miss is a bug too
    continue;
  }
  const c = v.charCodeAt(0);
  if (mode === 'inline' && c !== 97 + (v.length % 26)) {
    torn++;
    continue;
  }
  for (let i = 1; i < v.length; i++) {
    if (v.charCodeAt(i) !== c) {
      torn++;
      break;
    }
  }
}
fresh.close();
cached.close();
parentPort.postMessage({ reads, torn, missing });
