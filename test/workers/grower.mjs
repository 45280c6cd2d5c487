// Inserts `count` new keys (forcing many resizes), then raises the stop flag.
// Starts once the checker reads (stop[1]): worker start-up times vary (more
// under a loaded machine, or with module hooks), and growth that ended
// before the reads began would test nothing.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, count, stop } = workerData;
const map = await ShardedMap.attach(handle);
if (stop.length > 1) while (Atomics.load(stop, 1) === 0) Atomics.wait(stop, 1, 0, 50);
for (let i = 0; i < count; i++) map.storeNumber(`new:${i}`, i);
Atomics.store(stop, 0, 1);
map.close();
parentPort.postMessage({ inserted: count });
