// Writes while a snapshot is taken: stores and deletes keys `w<id>:<j>`
// (j < keys) with values { id, k: j, n } until the stop flag, counting its
// writes in ops[0]. Posts { owner } first, { writes } at the end.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, id, keys, stop, ops } = workerData;
const map = await ShardedMap.attach(handle);
parentPort.postMessage({ owner: map.owner });
let n = 0;
while (Atomics.load(stop, 0) === 0) {
  for (let i = 0; i < 64; i++, n++) {
    const k = (n * 7919) % keys;
    if (n % 5 === 4) map.delete(`w${id}:${k}`);
    else map.store(`w${id}:${k}`, { id, k, n });
  }
  Atomics.add(ops, 0, 64);
}
map.close();
parentPort.postMessage({ writes: n });
