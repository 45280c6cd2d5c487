// A worker of cluster-process.mjs: attaches to the process's near cache
// (the same L1, its own cluster data connection) and runs what it is asked.
import { parentPort, workerData } from 'node:worker_threads';
import { attachNearCache } from 'shardedmap/redis';
import { act } from './cluster-agent.mjs';

const near = await attachNearCache(workerData.handle);
parentPort.on('message', async ({ id, op, args }) => {
  if (op === 'close') {
    await near.close();
    parentPort.postMessage({ id, result: true });
    return;
  }
  try {
    parentPort.postMessage({ id, result: await act(near, op, args) });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e?.stack ?? e) });
  }
});
parentPort.postMessage({ ready: true });
