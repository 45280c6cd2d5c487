// Increments counters with a compareAndSwap loop; reports its own count.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, keys, increments, gate, parties } = workerData;
const map = await ShardedMap.attach(handle);
// Start together, so that the workers really contend.
Atomics.add(gate, 0, 1);
while (Atomics.load(gate, 0) < parties) {}
let retries = 0;
for (let i = 0; i < increments; i++) {
  const key = keys[i % keys.length];
  for (;;) {
    const v = map.loadNumber(key, 0);
    const ok = v === 0 && !map.has(key) ? !map.loadOrStore(key, 1).loaded : map.compareAndSwap(key, v, v + 1);
    if (ok) break;
    retries++;
  }
}
map.close();
parentPort.postMessage({ increments, retries });
