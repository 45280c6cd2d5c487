// fetch() from a worker: attaches, posts { owner }, waits for the go flag,
// then fetches `key` with a loader that counts its runs in a shared counter,
// waits `delay` ms and resolves `value` (or rejects with `fail`, or never
// settles with `hang`). With `naive`, the control: get, then load and set
// on a miss (no single flight). Posts { value } or { error, code }.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, go, runs, key, value, delay = 50, fail, hang = false, naive = false, loadTimeout } = workerData;
const map = await ShardedMap.attach(handle);
parentPort.postMessage({ owner: map.owner });
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0, 50);
const loader = async () => {
  Atomics.add(runs, 0, 1);
  // Hang, but keep the event loop alive (a worker with nothing left to do
  // would just exit).
  if (hang) return new Promise(() => setInterval(() => {}, 1000));
  await new Promise((r) => setTimeout(r, delay));
  if (fail) throw new Error(fail);
  return value;
};
try {
  let v;
  if (naive) {
    v = map.get(key);
    if (v === undefined) {
      v = await loader();
      map.set(key, v);
    }
  } else {
    v = await map.fetch(key, loader, loadTimeout ? { loadTimeout } : undefined);
  }
  parentPort.postMessage({ value: v });
} catch (e) {
  parentPort.postMessage({ error: e.message, code: e.code });
}
map.close();
