// A worker of examples/near-cache-cluster: reads through the process's L1
// (its own cluster data connection for misses).
import { parentPort, workerData } from 'node:worker_threads';
import { attachNearCache } from 'shardedmap/redis';

const near = await attachNearCache(workerData.handle);
parentPort.on('message', async (msg) => {
  if (msg.do === 'read') {
    let reads = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < workerData.users; i++) {
        // peek: a synchronous L1 hit; get: a miss goes to the key's master
        // once for all workers (single flight) and fills the L1.
        const user = near.peek(`example:user:${i}`) ?? (await near.get(`example:user:${i}`));
        if (user?.id !== i) throw new Error(`example:user:${i} read as ${JSON.stringify(user)}`);
        reads++;
      }
    }
    const { l1Hits, l1Misses } = near.stats();
    parentPort.postMessage({ reads, l1Hits, l1Misses });
  } else if (msg.do === 'reread') {
    const values = [];
    for (const k of msg.keys) values.push(await near.get(k));
    parentPort.postMessage({ values });
  } else if (msg.do === 'close') {
    await near.close();
    parentPort.postMessage('closed');
    parentPort.close();
  }
});
