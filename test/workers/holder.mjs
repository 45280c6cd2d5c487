// Takes the lock of shard `shard` (default 0) through the test door and holds it until the flag
// rises (or the worker is terminated, holding it).
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';

const { handle, flag, shard = 0 } = workerData;
const map = await ShardedMap.attach(handle);
const inner = internalsOf(map);
if (inner.core.lockShard(inner.token, shard) !== 0) throw new Error(`could not lock shard ${shard}`);
parentPort.postMessage({ owner: map.owner });
Atomics.wait(flag, 0, 0);
inner.core.unlockShard(inner.token, shard);
map.close();
parentPort.postMessage({ done: true });
