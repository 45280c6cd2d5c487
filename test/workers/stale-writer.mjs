// Stores ever newer values under a few keys (objects and strings of varying
// size: inline, out of line, long enough to be tagged), publishing in
// `committed` the sequence number each store has completed.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, committed, stop, keys, progress } = workerData;
const map = await ShardedMap.attach(handle);
let seq = 0;
while (!Atomics.load(stop, 0)) {
  seq++;
  const k = seq % keys;
  const pad = 'x'.repeat((seq * 37) % 300);
  map.store(`K${k}`, seq % 3 === 0 ? `${seq}:${pad}` : { seq, pad });
  Atomics.store(committed, k, seq);
  progress[0] = seq;
}
map.close();
parentPort.postMessage({ writes: seq });
