// An example contestant for `npm start -- --contestant`: one Map owned by a
// server thread of its own, reached by each benchmark worker over a
// MessageChannel (no SharedArrayBuffer: what a service does when it keeps
// one map out of its request threads). Copy it and put your own map in.
//
//   npm start -- --contestant ./examples/bench-adapter/channel-map.mjs
//
// The contract (BENCHMARKS.md, "Your own contestant") in short:
// - setup(cell, { keys, value }, options) runs once per cell in the main
//   thread: fill the map with keys[i] -> value(i), and return what each
//   benchmark worker needs (`worker(w)`), `teardown()`, and the memory
//   figures (NaN when unknown).
// - open(data, numeric, { keys, value }) runs in each benchmark worker:
//   return { load, store, del, close } (and optionally scan, counters).
// - `async = true`: load/store/del return promises, and the harness awaits
//   each before the next (one request in flight per worker).
import { MessageChannel, Worker } from 'node:worker_threads';

/** The row's name in the tables. */
export const label = 'one Map in a server thread, over MessageChannels';
/** 'shared': every worker reads what the others store (the `visible`
 *  column checks it); 'private' for a store per worker. */
export const kind = 'shared';
export const async = true;

export async function setup(cell, { keys, value }) {
  const server = new Worker(new URL('./channel-map-server.mjs', import.meta.url));
  const values = keys.map((_, i) => value(i));
  // Wait until the server has filled its map.
  await new Promise((resolve, reject) => {
    server.once('message', resolve);
    server.once('error', reject);
    server.postMessage({ fill: { keys, values } });
  });
  return {
    bytesPerEntry: NaN, // a heap in another thread: not measured here
    bytesKind: 'heap (server thread)',
    worker: () => {
      const { port1, port2 } = new MessageChannel();
      server.postMessage({ port: port1 }, [port1]);
      return { data: { port: port2 }, transfer: [port2] };
    },
    teardown: () => server.terminate(),
  };
}

export async function open(data) {
  const port = data.port;
  const pending = new Map();
  let next = 0;
  port.on('message', ([id, r]) => {
    pending.get(id)(r);
    pending.delete(id);
  });
  const call = (op, k, v) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      port.postMessage([id, op, k, v]);
    });
  return {
    load: (k) => call(0, k),
    store: (k, v) => call(1, k, v),
    del: (k) => call(2, k),
    close: () => port.close(),
  };
}
