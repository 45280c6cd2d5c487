// Reads every key with getMany and load while the main thread stalls shard 0
// (lock held, seq odd), then reports what it read.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, keys } = workerData;
const map = await ShardedMap.attach(handle, { lockTimeout: 10_000 });
parentPort.postMessage({ owner: map.owner });
const t0 = performance.now();
const many = map.getMany(keys);
const numbers = Array.from(map.loadNumbers(keys.filter((k) => k.startsWith('n:'))));
parentPort.postMessage({ many, numbers, ms: performance.now() - t0, waits: map.stats().instance.lockWaits });
map.close();
