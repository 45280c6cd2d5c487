// The server thread of channel-map.mjs: owns the Map, answers each port.
import { parentPort } from 'node:worker_threads';

const map = new Map();
parentPort.on('message', (m) => {
  if (m.fill) {
    const { keys, values } = m.fill;
    for (let i = 0; i < keys.length; i++) map.set(keys[i], values[i]);
    parentPort.postMessage('filled');
    return;
  }
  const port = m.port;
  port.on('message', ([id, op, k, v]) => {
    let r;
    if (op === 0) r = map.get(k);
    else if (op === 1) map.set(k, v);
    else r = map.delete(k);
    port.postMessage([id, r]);
  });
});
