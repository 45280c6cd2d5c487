// The other process of bench/near.mjs's invalidation measure: a near cache
// whose onInvalidate records when each write's key left the L1, and a
// reader that checks it never reads a version older than one already
// invalidated. Args: url, writes.
import { createNearCache } from 'shardedmap/redis';

const [url, n] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const arrivals = [];
const seen = new Int32Array(100); // per key: versions invalidated so far
let count = 0;
const near = await createNearCache({
  url,
  prefixes: ['k:'],
  onInvalidate: (key) => {
    if (key === null) return;
    const k = Number(key.slice(2));
    seen[k]++;
    arrivals.push([count++, now()]);
  },
});
let stop = false;
let stale = 0;
let reads = 0;
process.once('message', () => (stop = true));
process.send({ ready: true });
// Reads until the writer is done and every invalidation arrived. The c-th
// write to key k (1-based) stores i = (c - 1) * 100 + k: once c writes of
// k were invalidated here, a read must give at least that.
while (!stop || arrivals.length < Number(n)) {
  const k = reads % 100;
  const before = seen[k];
  const v = await near.get(`k:${k}`);
  reads++;
  if (before > 0 && (v === undefined || v < (before - 1) * 100 + k)) stale++;
  if ((reads & 63) === 0) await new Promise((r) => setImmediate(r));
}
process.send({ arrivals, stale, reads });
await near.close();
process.exit(0);
