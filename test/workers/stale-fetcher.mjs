// fetch() with stale windows from a worker, on a clock the test moves (a
// shared Float64Array: every instance of a map must share its clock).
// Attaches, posts { owner }, waits for the go flag, counts itself in
// `entered`, then fetches `key` with a loader that counts its runs in
// `runs`, waits for the gate (gate[0] = 1) and resolves `value` (or rejects
// with `fail`). Posts { value, status, gateOpen } — gateOpen: had the gate
// opened when fetch returned (did this caller wait for the loader?) — or
// { error, code, gateOpen }. Stays attached (a refresh it leads runs in the
// background) until done[0] = 1.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, time, go, entered, runs, gate, done, key, value, fail, options } = workerData;
const map = await ShardedMap.attach(handle, { clock: () => time[0] });
parentPort.postMessage({ owner: map.owner });
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0, 50);

/** Resolves when the flag at i32[0] is 1 (polled: keeps the event loop
 *  turning, so a refresh this worker leads goes on meanwhile). */
const flag = (i32) => new Promise((resolve) => {
  const poll = () => (Atomics.load(i32, 0) === 1 ? resolve() : setTimeout(poll, 2));
  poll();
});
const loader = async () => {
  Atomics.add(runs, 0, 1);
  await flag(gate);
  if (fail) throw new Error(fail);
  return value;
};
Atomics.add(entered, 0, 1);
const status = {};
try {
  const v = await map.fetch(key, loader, { ...options, status });
  parentPort.postMessage({ value: v, status: { stale: status.stale, refresh: status.refresh, error: status.error?.message }, gateOpen: Atomics.load(gate, 0) === 1 });
} catch (e) {
  parentPort.postMessage({ error: e.message, code: e.code, gateOpen: Atomics.load(gate, 0) === 1 });
}
await flag(done);
map.close();
