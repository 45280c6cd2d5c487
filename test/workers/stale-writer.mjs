// Stores ever newer values under a few keys (objects and strings of varying
// size: inline, out of line, long enough to be tagged), publishing in
// `committed` the sequence number each store has completed. With `pace`, at
// most one store per `pace` reads of the reader (progress[1]): on a starved
// machine the reader can fall so far behind that every key changes between
// two of its reads, and a read memo that answers nothing pauses itself for
// longer than the whole run.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, committed, stop, keys, progress, pace = 0 } = workerData;
const idle = new Int32Array(new SharedArrayBuffer(4));
const map = await ShardedMap.attach(handle);
let seq = 0;
while (!Atomics.load(stop, 0)) {
  while (pace > 0 && (seq + 1) * pace > Atomics.load(progress, 1) && !Atomics.load(stop, 0)) Atomics.wait(idle, 0, 0, 0.2);
  if (Atomics.load(stop, 0)) break;
  seq++;
  const k = seq % keys;
  const pad = 'x'.repeat((seq * 37) % 300);
  map.store(`K${k}`, seq % 3 === 0 ? `${seq}:${pad}` : { seq, pad });
  Atomics.store(committed, k, seq);
  progress[0] = seq;
}
map.close();
parentPort.postMessage({ writes: seq });
