// A process of the near-cache test: its near cache (L1 + tracking) and two
// workers attached to it. Argument: JSON { url, roles: [role, role], keys,
// rounds, ms }. Records when each invalidation reached this process (key,
// how many for that key so far, time) and shares the counts with its
// workers; posts { arrivals, results } to the parent and exits.

import { Worker } from 'node:worker_threads';
import { createNearCache } from 'shardedmap/redis';

const { url, roles, keys, rounds, ms } = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const arrived = new Int32Array(new SharedArrayBuffer(4 * keys));
const arrivals = [];
const near = await createNearCache({
  url,
  prefixes: ['k:'],
  onInvalidate: (key) => {
    if (key === null || !key.startsWith('k:')) return;
    const k = Number(key.slice(2));
    arrivals.push([k, Atomics.add(arrived, k, 1) + 1, now()]);
  },
});
const go = new Int32Array(new SharedArrayBuffer(4));
const workers = roles.map((role, w) => new Worker(new URL('./near-worker.mjs', import.meta.url), {
  workerData: { handle: near.handle, arrived, role, w, keys, rounds, ms, go },
}));
const attached = workers.map((worker) => new Promise((resolve) => worker.once('message', resolve)));
const results = workers.map((worker) => new Promise((resolve, reject) => {
  worker.on('message', (m) => (m.attached ? undefined : resolve(m)));
  worker.once('error', reject);
}));
await Promise.all(attached);
process.send({ ready: true });
process.once('message', () => {
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
});
const out = await Promise.all(results);
await Promise.all(workers.map((w) => w.terminate()));
// Every SET of the run reaches every process as an invalidation: wait for
// the last ones (a loaded machine may deliver them after the workers end).
const until = Date.now() + 20_000;
while (arrivals.length < keys * rounds && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
process.send({ arrivals, results: out, stats: { ...near.stats(), l1: undefined } });
await near.close();
process.exit(0);
