// Applies its operation stream as fast as it can, recording after each call
// how many operations have returned (committed), until it is terminated.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { opAt } from './crash-ops.mjs';

const { handle, prefix, seed, keys, progress, slot } = workerData;
const map = await ShardedMap.attach(handle);
parentPort.postMessage({ owner: map.owner });
for (let i = 0; ; i++) {
  const o = opAt(seed, i, keys);
  if (o.op === 'delete') map.delete(`${prefix}${o.key}`);
  else map.store(`${prefix}${o.key}`, o.value);
  Atomics.store(progress, slot, i + 1);
}
