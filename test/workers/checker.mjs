// Until the stop flag rises, reads keys that were present from the start and
// counts every miss or wrong value; it must see none while tables resize.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, present, stop } = workerData;
const map = await ShardedMap.attach(handle);
if (stop.length > 1) {
  Atomics.store(stop, 1, 1); // reading: the grower may start
  Atomics.notify(stop, 1);
}
let reads = 0;
let misses = 0;
let rounds = 0;
while (Atomics.load(stop, 0) === 0 || rounds === 0) {
  for (let i = 0; i < present; i++) {
    if (map.loadNumber(`old:${i}`, -1) !== i) misses++;
    reads++;
  }
  rounds++;
}
map.close();
parentPort.postMessage({ reads, misses, rounds });
