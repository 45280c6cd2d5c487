// A worker of near-process.mjs. Roles: 'writer' sets every key `rounds`
// times ({ v: round }) over about `ms`, recording when each SET was issued; 'reader' reads
// random keys until `ms` pass and counts stale reads: a value older than
// the invalidations this process had seen for its key before the read
// began; 'naive' (the detector's control) does the same through a private
// Map filled once from Redis and never invalidated.
import { parentPort, workerData } from 'node:worker_threads';
import { attachNearCache } from 'shardedmap/redis';

const { handle, arrived, role, w, keys, rounds, ms, go } = workerData;
const now = () => performance.timeOrigin + performance.now();
const near = await attachNearCache(handle);
parentPort.postMessage({ attached: true });
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0, 20);
let result;
try {
  if (role === 'writer') {
    const sets = [];
    for (let v = 1; v <= rounds; v++) {
      for (let k = 0; k < keys; k++) {
        const t = now();
        await near.set(`k:${k}`, { v, pad: 'x'.repeat(k % 50) });
        sets.push([k, v, t]);
      }
      // Rounds spread over most of `ms`, so readers read between them.
      await new Promise((r) => setTimeout(r, (0.8 * ms) / rounds));
    }
    result = { role, sets };
  } else {
    const naive = new Map();
    let reads = 0;
    let stale = 0;
    let x = w + 1;
    // At least `ms`, and until this process has seen every write of the
    // run (a writer on a loaded machine may take longer), within a limit.
    const end = Date.now() + ms;
    const limit = Date.now() + 20_000;
    const allSeen = () => {
      for (let k = 0; k < keys; k++) if (Atomics.load(arrived, k) < rounds) return false;
      return true;
    };
    while ((Date.now() < end || !allSeen()) && Date.now() < limit) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const k = x % keys;
      const seen = Atomics.load(arrived, k);
      let value;
      if (role === 'naive') {
        if (!naive.has(k)) naive.set(k, await near.get(`k:${k}`));
        value = naive.get(k);
      } else {
        value = await near.get(`k:${k}`);
      }
      reads++;
      if ((value?.v ?? 0) < seen) stale++;
      if ((reads & 255) === 0) await new Promise((r) => setImmediate(r));
    }
    result = { role, reads, stale, stats: { ...near.stats(), l1: undefined } };
  }
} catch (e) {
  result = { role, error: `${e.code} ${e.message}` };
}
await near.close();
parentPort.postMessage(result);
