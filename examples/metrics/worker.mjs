// A worker of the metrics example: attaches, stores and reads its keys
// (some misses on purpose), then closes.
import { workerData, parentPort } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const map = await ShardedMap.attach(workerData.handle);
const { prefix, keys } = workerData;
for (let i = 0; i < keys; i++) map.store(`${prefix}${i}`, { i });
let hits = 0;
for (let i = 0; i < 2 * keys; i++) if (map.load(`${prefix}${i}`) !== undefined) hits++;
map.close();
parentPort.postMessage({ hits });
