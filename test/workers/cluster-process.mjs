// A process of the cluster test: one near cache over the cluster (the
// creator: its L1, a tracker per master) and two workers attached to it.
// Argument: JSON { rootNodes, topologyInterval, commandTimeout }. The parent
// sends { id, op, args } and gets { id, result | error }: `agents` runs an
// agent op (cluster-agent.mjs) on the creator and both workers; `arrivals`
// says how many invalidations (per key) and flushes reached this process;
// `refresh` asks the creator to look at the topology now.
import { Worker } from 'node:worker_threads';
import { createNearCache } from 'shardedmap/redis';
import { act } from './cluster-agent.mjs';

const { rootNodes, topologyInterval, commandTimeout } = JSON.parse(process.argv[2]);
const arrived = new Map();
let flushes = 0;
const near = await createNearCache({
  cluster: { rootNodes },
  prefixes: ['k:'],
  topologyInterval,
  commandTimeout,
  onInvalidate: (key) => {
    if (key === null) flushes++;
    else arrived.set(key, (arrived.get(key) ?? 0) + 1);
  },
});
const workers = [0, 1].map(() => new Worker(new URL('./cluster-worker.mjs', import.meta.url), { workerData: { handle: near.handle } }));
let next = 0;
const pending = new Map();
for (const w of workers) {
  w.on('message', (m) => {
    if (m.ready) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m.result);
  });
}
await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
const ask = (w, op, args) => new Promise((resolve, reject) => {
  const id = next++;
  pending.set(id, { resolve, reject });
  w.postMessage({ id, op, args });
});

process.on('message', async ({ id, op, args }) => {
  try {
    let result;
    if (op === 'agents') result = await Promise.all([act(near, args.op, args.args), ...workers.map((w) => ask(w, args.op, args.args))]);
    else if (op === 'main') result = await act(near, args.op, args.args);
    // Ask the creator to look at the topology now, as a worker whose
    // command failed does (the handle's topology word).
    else if (op === 'refresh') {
      const word = new Int32Array(near.handle.topology);
      Atomics.add(word, 0, 1);
      Atomics.notify(word, 0);
      result = true;
    }
    else if (op === 'arrivals') result = { keys: Object.fromEntries(args.keys.map((k) => [k, arrived.get(k) ?? 0])), flushes };
    else if (op === 'close') {
      await Promise.all(workers.map((w) => ask(w, 'close')));
      await Promise.all(workers.map((w) => w.terminate()));
      await near.close();
      process.send({ id, result: true }, () => process.exit(0));
      return;
    } else throw new Error(`unknown op ${op}`);
    process.send({ id, result });
  } catch (e) {
    process.send({ id, error: String(e?.stack ?? e) });
  }
});
process.send({ ready: true });
// The test is gone (failed, killed): do not outlive it.
process.once('disconnect', () => process.exit(0));
