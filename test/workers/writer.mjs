// Stores keys [from, to) with object values, then reports how many it stored.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, prefix, from, to } = workerData;
const map = await ShardedMap.attach(handle);
for (let i = from; i < to; i++) map.store(`${prefix}${i}`, { i, by: prefix });
map.close();
parentPort.postMessage({ stored: to - from });
