// Applies its operation stream as fast as it can, recording after each call
// how many operations have returned (committed), until it is terminated.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { streams } from './crash-ops.mjs';

const { handle, prefix, seed, keys, progress, slot, stream = 'mixed', ttlEvery = 0 } = workerData;
const opAt = streams[stream];
const map = await ShardedMap.attach(handle);
parentPort.postMessage({ owner: map.owner });
try {
  for (let i = 0; ; i++) {
    const o = opAt(seed, i, keys);
    if (o.op === 'delete') map.delete(`${prefix}${o.key}`);
    else if (ttlEvery && i % ttlEvery === 0) map.store(`${prefix}${o.key}`, o.value, { ttl: 150 });
    else map.store(`${prefix}${o.key}`, o.value);
    Atomics.store(progress, slot, i + 1);
  }
} catch (e) {
  // A failed call is what the test looks for: report it, do not just die.
  parentPort.postMessage({ error: `${e.code} ${e.message}` });
}
