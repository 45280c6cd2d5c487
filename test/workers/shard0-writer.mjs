// Attaches (posting its owner id), then stores to key 'k' of a one-shard
// map until the stop flag rises, counting its stores in `progress`; posts
// `{ error }` if a store fails (e.g. LockTimeoutError), `{ done }` at the end.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, progress, stop, lockTimeout } = workerData;
const map = await ShardedMap.attach(handle, { lockTimeout });
parentPort.postMessage({ owner: map.owner });
try {
  for (let i = 0; !Atomics.load(stop, 0); i++) {
    map.store('k', i);
    Atomics.add(progress, 0, 1);
  }
  parentPort.postMessage({ done: true });
} catch (e) {
  parentPort.postMessage({ error: `${e.code} ${e.message}` });
}
map.close();
