// The other process of bench/near.mjs's invalidation measure: a near cache
// whose onInvalidate (in this main thread, as in a service) records when
// each write's key left the L1, and a reader in a worker (as in a service)
// that checks it never reads a version older than one already invalidated.
// Args: url, writes.
import { Worker } from 'node:worker_threads';
import { createNearCache } from 'shardedmap/redis';

const [url, n] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const arrivals = [];
const seen = new Int32Array(new SharedArrayBuffer(4 * 101)); // per key: writes invalidated so far; [100]: stop
let count = 0;
const near = await createNearCache({
  url,
  prefixes: ['k:'],
  onInvalidate: (key) => {
    if (key === null) return;
    const k = Number(key.slice(2));
    Atomics.add(seen, k, 1);
    arrivals.push([count++, now()]);
  },
});
const reader = new Worker(new URL(import.meta.url.replace('near-child', 'near-reader')), {
  workerData: { handle: near.handle, seen },
});
const result = new Promise((resolve) => reader.once('message', resolve));
process.once('message', async () => {
  // The writer is done: wait for its last invalidations, then stop.
  while (arrivals.length < Number(n)) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(seen, 100, 1);
  const { stale, reads } = await result;
  process.send({ arrivals, stale, reads });
  await near.close();
  process.exit(0);
});
await new Promise((r) => setTimeout(r, 100)); // the reader attached
process.send({ ready: true });
