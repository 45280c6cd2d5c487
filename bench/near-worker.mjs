// A thread of bench/near.mjs: awaits L1 hits ('l1') or plain GETs ('get')
// on the 1K keys until `ms` pass; posts how many.
import { parentPort, workerData } from 'node:worker_threads';
import { createClient } from '@redis/client';
import { attachNearCache } from 'shardedmap/redis';

const { url, handle, what, ms, go, w, keys } = workerData;
const near = what === 'l1' ? await attachNearCache(handle) : null;
const plain = what === 'get' ? createClient({ url }) : null;
await plain?.connect();
parentPort.postMessage({ ready: true });
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0, 20);
let ops = 0;
const end = Date.now() + ms;
for (let i = w * 7919; Date.now() < end; i++) {
  for (let j = 0; j < 64; j++, i++) {
    if (near) await near.get(`k:${i % keys}`);
    else await plain.get(`k:${i % keys}`);
  }
  ops += 64;
}
await near?.close();
await plain?.close();
parentPort.postMessage({ ops });
