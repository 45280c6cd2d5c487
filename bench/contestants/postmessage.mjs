// One Map in the main thread, served to workers over MessagePorts: each
// operation is a request and an awaited reply (what people do today).
import { MessageChannel } from 'node:worker_threads';

export const kind = 'shared';
export const async = true;

export async function setup(cell, { keys, value }) {
  const map = new Map();
  for (let i = 0; i < keys.length; i++) map.set(keys[i], value(i));
  const ports = [];
  return {
    bytesPerEntry: NaN,
    bytesKind: 'heap (main thread)',
    worker: () => {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', ([id, op, k, v]) => {
        let r;
        if (op === 0) r = map.get(k);
        else if (op === 1) map.set(k, v);
        else r = map.delete(k);
        port1.postMessage([id, r]);
      });
      ports.push(port1);
      return { data: { port: port2 }, transfer: [port2] };
    },
    teardown: () => ports.forEach((p) => p.close()),
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
