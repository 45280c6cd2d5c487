// Inserts `count` new keys (forcing many resizes), then raises the stop flag.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, count, stop } = workerData;
const map = await ShardedMap.attach(handle);
for (let i = 0; i < count; i++) map.storeNumber(`new:${i}`, i);
Atomics.store(stop, 0, 1);
map.close();
parentPort.postMessage({ inserted: count });
