// Rewrites key 'T' with values made of one repeated letter until `ms` pass.
// mode 'store': the real store path (lengths vary: appends, compaction,
//   resizes); 'protected' / 'unprotected': in-place byte overwrites through
//   the test-only door, with and without the shard lock and seqlock.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';

const { handle, mode, ms, stop } = workerData;
const map = await ShardedMap.attach(handle);
const inner = internalsOf(map);
const end = performance.now() + ms;
let writes = 0;
while (performance.now() < end) {
  const c = 97 + (writes % 26);
  if (mode === 'store') {
    map.store('T', String.fromCharCode(c).repeat(100 + ((writes * 7919) % 3000)));
  } else {
    const klen = inner.encodeKey('T');
    inner.core.testOverwrite(inner.owner, klen, c, mode === 'protected' ? 1 : 0);
  }
  writes++;
}
Atomics.store(stop, 0, 1);
map.close();
parentPort.postMessage({ writes });
