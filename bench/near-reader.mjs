// The reader of bench/near-child.mjs: the c-th write to key k (1-based)
// stores i = (c - 1) * 100 + k, so once c writes of k were invalidated in
// this process, a read of k must give at least that.
import { parentPort, workerData } from 'node:worker_threads';
import { attachNearCache } from 'shardedmap/redis';

const { handle, seen } = workerData;
const near = await attachNearCache(handle);
let stale = 0;
let reads = 0;
while (Atomics.load(seen, 100) === 0) {
  const k = reads % 100;
  const before = Atomics.load(seen, k);
  const v = await near.get(`k:${k}`);
  reads++;
  if (before > 0 && (v === undefined || v < (before - 1) * 100 + k)) stale++;
}
await near.close();
parentPort.postMessage({ stale, reads });
